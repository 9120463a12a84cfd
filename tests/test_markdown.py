"""Organizers' Markdown becomes HTML that is safe to show to every reader."""

import re

import pytest
from markupsafe import Markup

from campaign.services.markdown import render_markdown


def test_result_is_markup_so_templates_do_not_escape_it_again():
    assert isinstance(render_markdown("text"), Markup)


def test_empty_or_missing_text_renders_nothing():
    assert str(render_markdown("")) == ""
    assert str(render_markdown(None)) == ""


@pytest.mark.parametrize("level", [2, 3, 4])
def test_renders_section_headings(level):
    html = render_markdown("#" * level + " Why it matters")
    assert f"<h{level}>Why it matters</h{level}>" in html


def test_top_level_heading_stays_a_heading():
    # "# Title" is the heading organizers type most; it must not become bare text.
    html = str(render_markdown("# Our demands\n\nStop the bombs."))
    assert re.search(r"<h[1-4]>Our demands</h[1-4]>", html), html


def test_renders_emphasis():
    assert str(render_markdown("**bold** and _em_")) == (
        "<p><strong>bold</strong> and <em>em</em></p>\n"
    )


def test_renders_bullet_list():
    html = render_markdown("- bread\n- water\n")
    assert "<ul>\n<li>bread</li>\n<li>water</li>\n</ul>" in html


def test_renders_numbered_list():
    html = render_markdown("1. stop\n2. open corridors\n")
    assert "<ol>\n<li>stop</li>\n<li>open corridors</li>\n</ol>" in html


def test_renders_quote_code_and_rule():
    html = render_markdown("> quoted\n\n`code`\n\n---\n")
    assert "<blockquote>" in html
    assert "<code>code</code>" in html
    assert "<hr>" in html


def test_renders_link_with_href_and_text():
    html = render_markdown("[the UN](https://www.un.org/)")
    assert re.search(r'<a href="https://www.un.org/"[^>]*>the UN</a>', html)


def test_keeps_link_title():
    html = render_markdown('[UN](https://www.un.org/ "United Nations")')
    assert 'title="United Nations"' in html


def test_mailto_links_are_allowed():
    assert 'href="mailto:press@example.org"' in render_markdown("[mail](mailto:press@example.org)")


def test_links_get_nofollow_and_noopener():
    html = render_markdown("[site](https://example.org)")
    rel = re.search(r'rel="([^"]*)"', html).group(1).split()
    assert "nofollow" in rel
    assert "noopener" in rel


def test_autolinks_get_rel_too():
    html = render_markdown("<https://example.org>")
    assert 'href="https://example.org"' in html
    assert "nofollow" in html


def test_script_tag_is_not_interpreted():
    html = render_markdown("<script>alert(1)</script>")
    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_raw_html_is_shown_as_text_not_interpreted():
    html = render_markdown('Hello <b class="x">world</b>')
    assert "<b" not in html
    assert "&lt;b class=" in html


def test_event_handler_attributes_never_reach_the_page():
    html = render_markdown('<img src="x" onerror="alert(1)">\n\n<p onclick="alert(2)">hi</p>')
    assert "<img" not in html
    assert "<p onclick" not in html
    assert not re.search(r"<[^>]*\son\w+=", html)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    ],
)
def test_dangerous_link_schemes_are_dropped(url):
    html = render_markdown(f"[click]({url})")
    assert "href=" not in html
    assert "<a" not in html


def test_raw_html_link_with_javascript_url_is_not_a_link():
    html = render_markdown('<a href="javascript:alert(1)">click</a>')
    assert "<a " not in html


def test_images_are_not_embedded():
    # Third-party images would track readers; the allowed tags have no <img>.
    assert "<img" not in render_markdown("![pic](https://tracker.example/p.png)")


def test_quotes_in_a_link_cannot_add_attributes():
    html = render_markdown('[x](<https://example.org/" onmouseover="alert(1)>)')
    assert not re.search(r"<a[^>]*\sonmouseover=", html)
    assert "%22" in html
