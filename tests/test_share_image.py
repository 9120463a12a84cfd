"""Drawing the share image (campaign/services/share_image.py): a pure function, no app needed."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from campaign.services import share_image
from campaign.services.share_image import ShareCard, count_bucket, render_share_image


def card(**overrides) -> ShareCard:
    fields = {
        "title": "Clean water for Riverside",
        "count_text": "1,200 signatures",
        "goal_text": "Goal: 5,000",
        "site_name": "campaign",
        "progress": 24,
        "rtl": False,
        "language": "en",
    }
    fields.update(overrides)
    return ShareCard(**fields)


def picture(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def bar_pixel(image: Image.Image, x: int) -> tuple[int, int, int]:
    """A pixel in the middle of the progress bar's height."""
    return image.convert("RGB").getpixel((x, share_image.HEIGHT - 82))


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


@pytest.mark.parametrize(
    ("count", "shown"),
    [(0, 0), (7, 7), (99, 99), (100, 100), (1234, 1200), (56_789, 56_000), (1_000_001, 1_000_000)],
)
def test_count_bucket_keeps_two_digits_and_never_overstates(count, shown):
    assert count_bucket(count) == shown
    assert count_bucket(count) <= count


def test_this_pillow_can_lay_out_arabic():
    # Pillow's wheels bundle Raqm (FriBiDi, HarfBuzz); without it Arabic share images are refused.
    assert share_image.has_raqm()


def test_the_image_is_a_1200_by_630_png():
    image = picture(render_share_image(card()))
    assert image.format == "PNG"
    assert image.size == (1200, 630)


def test_every_text_and_number_changes_the_picture():
    base = render_share_image(card())
    for change in (
        {"title": "Clean air for Riverside"},
        {"count_text": "1,300 signatures"},
        {"goal_text": "Goal: 6,000"},
        {"site_name": "Riverside petitions"},
        {"progress": 80},
    ):
        assert render_share_image(card(**change)) != base, change
        assert card(**change).fingerprint != card().fingerprint


def test_the_same_card_is_drawn_once():
    first = render_share_image(card(title="Drawn once"))
    assert render_share_image(card(title="Drawn once")) is first


def test_the_bar_fills_from_the_start_edge_of_the_language():
    red = hex_rgb(share_image.BAR)
    ltr = picture(render_share_image(card(progress=10)))
    assert bar_pixel(ltr, share_image.MARGIN + 40) == red
    assert bar_pixel(ltr, share_image.WIDTH - share_image.MARGIN - 40) != red

    rtl = picture(
        render_share_image(
            card(title="مياه نظيفة", count_text="1,200 توقيع", progress=10, rtl=True, language="ar")
        )
    )
    assert bar_pixel(rtl, share_image.WIDTH - share_image.MARGIN - 40) == red
    assert bar_pixel(rtl, share_image.MARGIN + 40) != red


def test_no_signatures_no_bar_and_a_full_goal_a_full_bar():
    red = hex_rgb(share_image.BAR)
    empty = picture(render_share_image(card(progress=0)))
    assert bar_pixel(empty, share_image.MARGIN + 20) != red
    full = picture(render_share_image(card(progress=100)))
    assert bar_pixel(full, share_image.WIDTH - share_image.MARGIN - 20) == red


def ink_columns(image: Image.Image, top: int, bottom: int) -> list[int]:
    """The x of every column with dark pixels (text) between two heights."""
    gray = image.convert("L").crop((0, top, image.width, bottom))
    return [
        x for x in range(gray.width) if gray.crop((x, 0, x + 1, gray.height)).getextrema()[0] < 100
    ]


def test_an_arabic_title_is_set_against_the_right_edge():
    image = picture(
        render_share_image(
            card(title="مياه نظيفة لريفرسايد", count_text="١٢٠٠ توقيع", rtl=True, language="ar")
        )
    )
    columns = ink_columns(image, 120, 420)
    assert columns, "the title is drawn"
    assert max(columns) > share_image.WIDTH - share_image.MARGIN - 10
    assert min(columns) > share_image.WIDTH // 3


def test_arabic_letters_are_joined():
    # Shaped (joined) Arabic is narrower than the same letters drawn in their isolated forms.
    font = share_image._font("arabic", "bold", 60)
    joined = font.getlength("سلسلة", direction="rtl", language="ar")
    isolated = sum(font.getlength(letter, direction="rtl") for letter in "سلسلة")
    assert joined < isolated * 0.9


def test_cyrillic_is_drawn_with_real_glyphs():
    # A font without Cyrillic draws every letter as the same empty box.
    font = share_image._font("latin", "bold", 60)

    def drawn(letter: str) -> bytes:
        image = Image.new("L", (80, 100), 0)
        ImageDraw.Draw(image).text((5, 5), letter, font=font, fill=255)
        return image.tobytes()

    assert drawn("Ж") != drawn("Щ")


def test_a_very_long_title_is_cut_and_leaves_the_count_clear():
    title = " ".join(["Unterschriftensammlungsverantwortliche"] * 12)
    image = picture(render_share_image(card(title=title)))
    # Between the last title line and the count: only background.
    assert not ink_columns(image, share_image.HEIGHT - 205, share_image.HEIGHT - 185)
    # The title stays inside the margins.
    columns = ink_columns(image, 120, 420)
    assert min(columns) >= share_image.MARGIN - 2
    assert max(columns) <= share_image.WIDTH - share_image.MARGIN + 2
