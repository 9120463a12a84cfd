"""Readers' plain text on a page: escaped, line breaks kept, links clickable but not vouched for
(campaign/services/plain_text.py)."""

from __future__ import annotations

import re
from html import unescape as html_unescape

import pytest
from markupsafe import Markup

from campaign.services.plain_text import find_links, render_plain_text

REL = 'rel="nofollow ugc noopener"'


def _links(html: str) -> list[tuple[str, str]]:
    """(href, text) of every link in `html`."""
    return re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', html)


# Escaping


def test_result_is_markup_so_templates_do_not_escape_it_again():
    assert isinstance(render_plain_text("text"), Markup)


def test_plain_words_become_one_paragraph():
    assert str(render_plain_text("Stop the bombing.")) == "<p>Stop the bombing.</p>"


def test_empty_or_blank_text_renders_nothing():
    assert str(render_plain_text("")) == ""
    assert str(render_plain_text(" \n\n  \n")) == ""


@pytest.mark.parametrize(
    "attack",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<a href='javascript:alert(1)'>click</a>",
        '"><svg onload=alert(1)>',
        "<iframe src=//evil.example></iframe>",
        "</p><p onclick=alert(1)>",
    ],
)
def test_html_in_a_comment_comes_out_as_text(attack):
    html = str(render_plain_text(attack))
    assert "<script" not in html
    assert "<img" not in html
    assert "<svg" not in html
    assert "<iframe" not in html
    assert "<a " not in html
    assert "<p onclick" not in html
    assert "&lt;" in html
    # What the reader typed is what the page shows, once unescaped.
    inner = html.removeprefix("<p>").removesuffix("</p>")
    assert html_unescape(inner) == attack


def test_ampersands_and_quotes_are_escaped():
    assert str(render_plain_text("Tom & Jerry say \"hi\" & 'bye'")) == (
        "<p>Tom &amp; Jerry say &#34;hi&#34; &amp; &#39;bye&#39;</p>"
    )


def test_already_escaped_text_is_escaped_again_not_trusted():
    assert str(render_plain_text("&lt;b&gt;")) == "<p>&amp;lt;b&amp;gt;</p>"


# Line breaks and paragraphs


def test_single_line_breaks_stay_inside_the_paragraph():
    assert str(render_plain_text("one\ntwo\nthree")) == "<p>one<br>\ntwo<br>\nthree</p>"


def test_blank_lines_separate_paragraphs():
    html = str(render_plain_text("First thought.\n\nSecond thought.\nSame paragraph."))
    assert html == "<p>First thought.</p><p>Second thought.<br>\nSame paragraph.</p>"


def test_many_blank_lines_make_one_paragraph_break():
    html = str(render_plain_text("one\n\n\n\n\ntwo"))
    assert html == "<p>one</p><p>two</p>"


def test_lines_with_only_spaces_count_as_blank():
    assert str(render_plain_text("one\n   \ntwo")) == "<p>one</p><p>two</p>"


def test_windows_line_ends_are_understood():
    assert str(render_plain_text("one\r\ntwo\r\n\r\nthree")) == "<p>one<br>\ntwo</p><p>three</p>"


def test_leading_and_trailing_blank_lines_are_dropped():
    assert str(render_plain_text("\n\n  hello\n\n")) == "<p>hello</p>"


def test_markup_in_a_later_paragraph_is_escaped_too():
    html = str(render_plain_text("fine\n\n<b>bold</b>\n<i>x</i>"))
    assert html == "<p>fine</p><p>&lt;b&gt;bold&lt;/b&gt;<br>\n&lt;i&gt;x&lt;/i&gt;</p>"


# Links


def test_http_and_https_links_become_clickable():
    html = str(render_plain_text("See https://example.org/a?b=1 and http://example.net"))
    assert _links(html) == [
        ("https://example.org/a?b=1", "https://example.org/a?b=1"),
        ("http://example.net", "http://example.net"),
    ]


def test_links_are_not_vouched_for_and_open_apart():
    html = str(render_plain_text("https://example.org"))
    assert html == (
        '<p><a href="https://example.org" rel="nofollow ugc noopener" target="_blank">'
        "https://example.org</a></p>"
    )


def test_every_link_carries_rel():
    html = str(render_plain_text("https://a.example www.b.example\nhttp://c.example"))
    assert html.count("<a ") == 3
    assert html.count(REL) == 3


def test_www_links_get_https():
    html = str(render_plain_text("Read www.example.org/report today"))
    assert _links(html) == [("https://www.example.org/report", "www.example.org/report")]


@pytest.mark.parametrize("punctuation", [".", ",", ";", ":", "!", "?", "...", "?!"])
def test_trailing_punctuation_belongs_to_the_sentence(punctuation):
    html = str(render_plain_text(f"Go to https://example.org/page{punctuation} Then sign"))
    assert _links(html) == [("https://example.org/page", "https://example.org/page")]
    assert f"</a>{punctuation} Then sign" in html


def test_punctuation_inside_a_link_stays_in_it():
    html = str(render_plain_text("https://example.org/a.b,c;d:e!f?g=1."))
    assert _links(html) == [
        ("https://example.org/a.b,c;d:e!f?g=1", "https://example.org/a.b,c;d:e!f?g=1")
    ]


@pytest.mark.parametrize(
    ("text", "link"),
    [
        ("(see https://example.org/x)", "https://example.org/x"),
        ("[https://example.org/x]", "https://example.org/x"),
        ('"https://example.org/x"', "https://example.org/x"),
        ("<https://example.org/x>", "https://example.org/x"),
    ],
)
def test_brackets_and_quotes_around_a_link_stay_outside(text, link):
    assert [href for href, _ in _links(str(render_plain_text(text)))] == [link]


def test_ampersand_in_a_link_is_escaped_in_href_and_text():
    html = str(render_plain_text("https://example.org/?a=1&b=2"))
    assert '<a href="https://example.org/?a=1&amp;b=2"' in html
    assert ">https://example.org/?a=1&amp;b=2</a>" in html


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "ftp://example.org/file",
        "example.org",
        "xhttps://example.org",
    ],
)
def test_other_schemes_and_bare_domains_never_become_links(text):
    html = str(render_plain_text(text))
    assert "<a " not in html
    assert find_links(text) == []


def test_javascript_before_a_real_link_cannot_reach_the_href():
    html = str(render_plain_text("javascript:https://example.org"))
    hrefs = [href for href, _ in _links(html)]
    assert hrefs == ["https://example.org"]
    assert 'href="javascript' not in html


@pytest.mark.parametrize(
    "text",
    [
        'https://example.org/"onmouseover="alert(1)',
        "https://example.org/'onmouseover='alert(1)",
        "https://example.org/<script>alert(1)</script>",
    ],
)
def test_a_link_cannot_break_out_of_its_attribute(text):
    html = str(render_plain_text(text))
    assert _links(html) == [("https://example.org/", "https://example.org/")]
    assert "onmouseover=" not in html.split("</a>")[0]
    assert "<script" not in html


def test_links_on_several_lines_and_paragraphs():
    html = str(
        render_plain_text("one https://a.example\ntwo www.b.example\n\nthree http://c.example")
    )
    assert [href for href, _ in _links(html)] == [
        "https://a.example",
        "https://www.b.example",
        "http://c.example",
    ]
    assert html.startswith("<p>one <a ")
    assert "</a><br>\ntwo <a " in html
    assert "</a></p><p>three <a " in html


def test_non_latin_links_and_text():
    html = str(render_plain_text("Смотрите https://пример.рф/путь — спасибо!"))
    assert _links(html) == [("https://пример.рф/путь", "https://пример.рф/путь")]
    assert "Смотрите " in html
    assert " — спасибо!" in html


# Counting links (what the comment rules limit)


def test_find_links_lists_what_a_reader_would_click():
    text = "See https://example.org/a. Also www.example.net, and http://x.example/?q=1!"
    assert find_links(text) == ["https://example.org/a", "www.example.net", "http://x.example/?q=1"]


def test_find_links_in_text_without_links():
    assert find_links("No links here, just words. Not even www or http.") == []


def test_find_links_is_case_insensitive():
    assert find_links("HTTPS://EXAMPLE.ORG and WWW.EXAMPLE.NET") == [
        "HTTPS://EXAMPLE.ORG",
        "WWW.EXAMPLE.NET",
    ]


def test_render_and_find_agree_on_the_links():
    text = "a https://one.example, b www.two.example. c (http://three.example/x)"
    html = str(render_plain_text(text))
    assert [label for _, label in _links(html)] == find_links(text)
