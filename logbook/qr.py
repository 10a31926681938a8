"""QR codes: a URL as a crisp single-path SVG or a PNG, at error correction Q (survives stains and glare)."""

import io

import qrcode
from qrcode.constants import ERROR_CORRECT_Q
from qrcode.image.svg import SvgPathFillImage


def _code(url, box_size=10):
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, border=4, box_size=box_size)
    code.add_data(url)
    code.make(fit=True)
    return code


def svg(url, inline=False):
    """The QR code as SVG text: one path on a white background, sized in mm, so it prints without seams.

    `inline` leaves out the XML declaration, for an <svg> inside an HTML page.
    """
    buffer = io.BytesIO()
    _code(url).make_image(image_factory=SvgPathFillImage).save(buffer)
    text = buffer.getvalue().decode()
    return text[text.index("<svg"):] if inline else text


def png(url, box_size=10):
    """The QR code as PNG bytes."""
    buffer = io.BytesIO()
    _code(url, box_size).make_image().save(buffer)
    return buffer.getvalue()
