"""QR codes as small SVG images, for posters and signature sheets to print."""

from __future__ import annotations

import qrcode
import qrcode.constants
from markupsafe import Markup

# Medium error correction survives a crease or a smudge on a printed poster while keeping the
# modules large enough to scan from a few metres.
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
QUIET_ZONE = 4  # modules of white around the code, as the standard asks


def qr_svg(data: str, *, label: str = "", css_class: str = "qr") -> Markup:
    """An SVG image of a QR code encoding `data`, sized by CSS (no width or height of its own).

    Dark modules are drawn as one path of horizontal runs on a white square, so the code stays
    readable on a dark page or a coloured printout. `label` becomes its accessible name.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, border=QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    matrix = code.get_matrix()  # rows of booleans, quiet zone included
    size = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < size and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    named = Markup(' aria-label="{}"').format(label) if label else ""
    title = Markup("<title>{}</title>").format(label) if label else ""
    # Markup.format escapes every value that is not Markup itself: the label and class too.
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" class="{css}" '
        'role="img"{named} shape-rendering="crispEdges">{title}'
        '<rect width="{size}" height="{size}" fill="#fff"/><path fill="#000" d="{path}"/></svg>'
    ).format(size=size, css=css_class, named=named, title=title, path="".join(runs))
