"""QR codes as SVG: they decode, from pixels, to exactly what was encoded."""

from __future__ import annotations

import pytest

from campaign.qr_code import qr_svg
from tests.qr_reading import rasterize_svg_qr, read_image_qr, read_svg_qr


@pytest.mark.parametrize(
    "url",
    [
        "http://campaign.test/en/c/a",
        "https://petitions.example.org/ar/c/clean-air-for-our-schools-and-everyone-else-2026",
    ],
)
def test_the_svg_decodes_to_the_url(url):
    assert read_svg_qr(str(qr_svg(url))) == [url]


def test_a_damaged_code_does_not_decode_to_something_else():
    image = rasterize_svg_qr(str(qr_svg("http://campaign.test/en/c/a")))
    # Paint over a third of it: the reader must find nothing rather than a wrong address.
    image.paste(255, (0, 0, image.width, image.height // 3))
    assert read_image_qr(image) == []


def test_the_svg_is_sized_by_css_and_named_for_screen_readers():
    svg = str(qr_svg("http://campaign.test/en/c/a", label='Scan <me> & "sign"', css_class="qr x"))
    assert "width=" not in svg.split(">", 1)[0].replace("stroke-width", "")
    assert 'role="img"' in svg
    assert 'aria-label="Scan &lt;me&gt; &amp; &#34;sign&#34;"' in svg
    assert "<title>Scan &lt;me&gt; &amp; &#34;sign&#34;</title>" in svg
    assert 'class="qr x"' in svg
    assert "<script" not in svg
