"""QR codes for rep links, as SVG (crisp at any print size, no image library)."""

import io
from functools import lru_cache

import segno


# A pure function of its arguments, and encoding is most of a dashboard view's Python time
# (~10 ms): each process keeps the codes it has drawn.
@lru_cache(maxsize=2048)
def qr_svg(url: str, *, scale: int = 6, title: str = "") -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer, kind="svg", scale=scale, border=2, dark="#17202a", title=title or None
    )
    return buffer.getvalue()
