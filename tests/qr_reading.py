"""Reading QR codes back the way a phone does: from pixels, with the zxing-cpp decoder.

`read_svg_qr` draws the SVG the site serves (the white square and the path of dark runs that
campaign.qr_code writes) into a bitmap, then decodes that bitmap. Nothing here looks at the
qrcode package's matrix: a wrong path, a wrong size or a missing quiet zone fails to decode.
"""

from __future__ import annotations

import io
import re

import zxingcpp
from PIL import Image, ImageDraw

_VIEWBOX = re.compile(r'viewBox="0 0 (\d+) (\d+)"')
_RUN = re.compile(r"M(\d+) (\d+)h(\d+)v1h-(\d+)z")


def read_image_qr(image: Image.Image) -> list[str]:
    """The texts of every QR code found in the image."""
    return [
        result.text
        for result in zxingcpp.read_barcodes(image.convert("RGB"))
        if result.format == zxingcpp.BarcodeFormat.QRCode
    ]


def read_png_qr(png: bytes) -> list[str]:
    """The texts of every QR code in a PNG, e.g. a browser's screenshot."""
    return read_image_qr(Image.open(io.BytesIO(png)))


def rasterize_svg_qr(svg: str, scale: int = 8) -> Image.Image:
    """Draw a QR SVG as the browser would, `scale` pixels to a module."""
    match = _VIEWBOX.search(svg)
    assert match, "the SVG has no viewBox"
    width, height = int(match.group(1)), int(match.group(2))
    image = Image.new("L", (width * scale, height * scale), 255)
    draw = ImageDraw.Draw(image)
    path = re.search(r'<path[^>]* d="([^"]*)"', svg)
    assert path, "the SVG has no path"
    runs = _RUN.findall(path.group(1))
    assert "".join(f"M{x} {y}h{w}v1h-{b}z" for x, y, w, b in runs) == path.group(1), (
        "the path has commands this reader does not draw"
    )
    for x, y, run, back in runs:
        assert run == back, "a run that does not close on itself"
        x, y, run = int(x), int(y), int(run)
        draw.rectangle([x * scale, y * scale, (x + run) * scale - 1, (y + 1) * scale - 1], fill=0)
    return image


def read_svg_qr(svg: str) -> list[str]:
    """The texts of the QR code drawn by an SVG of campaign.qr_code."""
    return read_image_qr(rasterize_svg_qr(svg))
