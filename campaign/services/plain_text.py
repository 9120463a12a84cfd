"""Readers' plain text made safe for a page: escaped, line breaks kept, links clickable."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# http(s) URLs and bare www. addresses, up to whitespace or a closing bracket or quote.
LINK_PATTERN = re.compile(r"""(?i)\b(?:https?://|www\.)[^\s<>"'()\[\]{}]+""")
# Sentence punctuation right after a link belongs to the sentence, not to the address.
_TRAILING = ".,;:!?"


def find_links(text: str) -> list[str]:
    """The links in `text`, as a reader would click them."""
    return [match.rstrip(_TRAILING) for match in LINK_PATTERN.findall(text)]


def render_plain_text(text: str) -> Markup:
    """HTML for `text`: escaped, paragraphs and line breaks kept, links made clickable.

    Links get rel="nofollow ugc noopener": readers wrote them, the site does not vouch for them.
    """
    paragraphs = [part for part in re.split(r"\n\s*\n", text.strip().replace("\r\n", "\n")) if part]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(_linkify(line) for line in p.split("\n")))
        for p in paragraphs
    )


def _linkify(line: str) -> Markup:
    pieces: list[Markup] = []
    position = 0
    for match in LINK_PATTERN.finditer(line):
        url = match.group(0).rstrip(_TRAILING)
        end = match.start() + len(url)
        pieces.append(escape(line[position : match.start()]))
        href = url if url.lower().startswith("http") else f"https://{url}"
        pieces.append(
            Markup('<a href="{}" rel="nofollow ugc noopener" target="_blank">{}</a>').format(
                href, url
            )
        )
        position = end
    pieces.append(escape(line[position:]))
    return Markup("").join(pieces)
