"""The picture that social networks show beside a shared petition link (Open Graph image).

A pure function of its texts and numbers, so the same card is drawn once per process and then
served from memory: a petition going viral means thousands of crawlers asking for one image.
The count is rounded into buckets (`count_bucket`) so that the image, and its ETag, change a
few dozen times over a campaign's life rather than on every signature.

Drawing right-to-left scripts needs Pillow's Raqm layout (FriBiDi and HarfBuzz: bidi and Arabic
shaping); Pillow's wheels bundle it. Without it, Arabic would come out as unjoined letters in
the wrong order, so `render_share_image` refuses with ShareImageUnavailable instead.
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
from dataclasses import astuple, dataclass
from functools import cache, lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

WIDTH, HEIGHT = 1200, 630
# Bump when the drawing changes, so that caches and ETags let go of the old pictures.
VERSION = 1

FONTS = Path(__file__).resolve().parents[2] / "static" / "vendor" / "fonts"
LATIN = {"regular": "NotoSans-Regular.ttf", "bold": "NotoSans-Bold.ttf"}
# Noto Sans Arabic also carries Latin letters and digits: a mixed title stays in one font.
ARABIC = {"regular": "NotoSansArabic-Regular.ttf", "bold": "NotoSansArabic-Bold.ttf"}

# The site's own colours (static/css/site.css): paper, the header's ink, the accent.
BACKGROUND = "#faf8f3"
BAND = "#1d1d1b"
INK = "#1d1d1b"
MUTED = "#5b5b57"
TRACK = "#ebe6da"
BAR = "#b3261e"

MARGIN = 72
TITLE_SIZES = (68, 60, 54, 48, 44, 40)
TITLE_MAX_LINES = 3


class ShareImageUnavailable(RuntimeError):
    """This Pillow cannot lay out right-to-left or joined scripts (no Raqm)."""


@dataclass(frozen=True)
class ShareCard:
    """Everything drawn on a share image, already translated and formatted for one language."""

    title: str
    count_text: str  # "1,200 signatures", in the reader's language and number format
    goal_text: str  # "Goal: 5,000"
    site_name: str
    progress: int  # 0..100, the bar's length
    rtl: bool  # the reader's language runs right to left: align and fill from the right
    language: str = ""  # BCP 47 code, for the shaper's language-specific forms

    @property
    def fingerprint(self) -> str:
        """A short hash of the card and the drawing code's version, for ETags."""
        data = repr((VERSION, astuple(self))).encode()
        return hashlib.sha256(data).hexdigest()[:20]


def count_bucket(count: int) -> int:
    """The count as the image shows it: exact below 100, then its first two digits (1,234 ->
    1,200; 56,789 -> 56,000), so the picture keeps for a while and never overstates."""
    if count < 100:
        return max(count, 0)
    step = 10 ** (len(str(count)) - 2)
    return count - count % step


def has_raqm() -> bool:
    return bool(features.check("raqm"))


def _needs_arabic(text: str) -> bool:
    return any("ARABIC" in unicodedata.name(ch, "") for ch in text)


def _is_rtl_text(text: str) -> bool:
    """The direction of a text by its first strong character (as the Unicode bidi rules do)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


@cache
def _font(family: str, weight: str, size: int) -> ImageFont.FreeTypeFont:
    names = ARABIC if family == "arabic" else LATIN
    layout = ImageFont.Layout.RAQM if has_raqm() else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(FONTS / names[weight]), size, layout_engine=layout)


def _font_for(text: str, weight: str, size: int) -> ImageFont.FreeTypeFont:
    return _font("arabic" if _needs_arabic(text) else "latin", weight, size)


class _Writer:
    """Draws lines of text aligned to the start edge of the card's language."""

    def __init__(self, draw: ImageDraw.ImageDraw, card: ShareCard):
        self.draw = draw
        self.card = card

    def options(self, text: str) -> dict:
        if not has_raqm():
            return {}
        options = {"direction": "rtl" if _is_rtl_text(text) else "ltr"}
        if self.card.language:
            options["language"] = self.card.language
        return options

    def width(self, text: str, font: ImageFont.FreeTypeFont) -> float:
        return font.getlength(text, **self.options(text))

    def line(self, y: float, text: str, font: ImageFont.FreeTypeFont, fill: str, *, end=False):
        """One line at height `y` (its top), at the start edge, or the end edge with `end`."""
        at_right = self.card.rtl != end
        x = WIDTH - MARGIN if at_right else MARGIN
        anchor = "ra" if at_right else "la"
        self.draw.text((x, y), text, font=font, fill=fill, anchor=anchor, **self.options(text))


def _wrap(writer: _Writer, text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Greedy word wrap; a single word wider than the line stays whole (and is cut later)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and writer.width(candidate, font) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _shorten(writer: _Writer, text: str, font: ImageFont.FreeTypeFont, width: float) -> str:
    """The line cut at a word (or letter) with an ellipsis, to fit `width`."""
    if writer.width(text, font) <= width:
        return text
    words = text.split()
    while len(words) > 1:
        words.pop()
        candidate = " ".join(words) + "…"
        if writer.width(candidate, font) <= width:
            return candidate
    letters = text
    while letters and writer.width(letters + "…", font) > width:
        letters = letters[:-1]
    return letters + "…"


def _title_lines(writer: _Writer, title: str) -> tuple[list[str], ImageFont.FreeTypeFont]:
    """The title wrapped in the largest size that fits in three lines, cut at the smallest."""
    width = WIDTH - 2 * MARGIN
    for size in TITLE_SIZES:
        font = _font_for(title, "bold", size)
        lines = _wrap(writer, title, font, width)
        if len(lines) <= TITLE_MAX_LINES and all(writer.width(x, font) <= width for x in lines):
            return lines, font
    lines = lines[:TITLE_MAX_LINES]
    rest = " ".join(_wrap(writer, title, font, width)[TITLE_MAX_LINES - 1 :])
    lines[-1] = _shorten(writer, rest, font, width)
    return [_shorten(writer, x, font, width) for x in lines], font


@lru_cache(maxsize=64)
def render_share_image(card: ShareCard) -> bytes:
    """The 1200x630 PNG for `card`. Kept in memory (the last 64 cards, ~50 KB each).

    Raises ShareImageUnavailable when the text needs Raqm and this Pillow has none.
    """
    texts = (card.title, card.count_text, card.goal_text, card.site_name)
    if not has_raqm() and (card.rtl or any(_needs_arabic(t) or _is_rtl_text(t) for t in texts)):
        raise ShareImageUnavailable("Pillow was built without Raqm (libraqm)")

    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    writer = _Writer(draw, card)

    # A band along the top edge with the site's name: who is asking.
    draw.rectangle((0, 0, WIDTH, 96), fill=BAND)
    site_font = _font_for(card.site_name, "bold", 36)
    writer.line(
        26, _shorten(writer, card.site_name, site_font, WIDTH - 2 * MARGIN), site_font, "#ffffff"
    )

    lines, title_font = _title_lines(writer, card.title)
    line_height = round(title_font.size * 1.3)
    # Centred between the band and the count: a short title does not float at the top.
    y = 130 + max(0, (HEIGHT - 200 - 130 - line_height * len(lines)) // 2)
    for text in lines:
        writer.line(y, text, title_font, INK)
        y += line_height

    # The count and the goal on one line above the bar, at opposite edges.
    count_font = _font_for(card.count_text, "bold", 44)
    goal_font = _font_for(card.goal_text, "regular", 34)
    writer.line(HEIGHT - 180, card.count_text, count_font, INK)
    writer.line(HEIGHT - 170, card.goal_text, goal_font, MUTED, end=True)

    top, bottom = HEIGHT - 100, HEIGHT - 64
    draw.rounded_rectangle((MARGIN, top, WIDTH - MARGIN, bottom), radius=18, fill=TRACK)
    progress = min(max(card.progress, 0), 100)
    if progress:
        # At least a sliver, so a first signature shows; from the start edge of the language.
        length = max(36, (WIDTH - 2 * MARGIN) * progress // 100)
        box = (
            (WIDTH - MARGIN - length, top, WIDTH - MARGIN, bottom)
            if card.rtl
            else (MARGIN, top, MARGIN + length, bottom)
        )
        draw.rounded_rectangle(box, radius=18, fill=BAR)

    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()
