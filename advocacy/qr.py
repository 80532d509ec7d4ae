"""QR codes for rep links, as SVG (crisp at any print size, no image library)."""

import io

import segno


def qr_svg(url: str, *, scale: int = 6, title: str = "") -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=scale, border=2, dark="#17202a", title=title or None
    )
    return buffer.getvalue()
