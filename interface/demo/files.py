"""The files demo parties attach to their evidence: a carrier's tracking page as plain
text, and a small photo (a PNG drawn from the order's seed)."""

from __future__ import annotations

import random
import struct
import zlib
from datetime import datetime


def tracking_page(order_id: str, carrier: str, tracking_number: str, at: datetime) -> bytes:
    """What a seller copies from the carrier's site."""
    lines = [
        f"{carrier} tracking {tracking_number}",
        f"Order {order_id}",
        f"{at:%Y-%m-%d %H:%M} UTC  Label created, parcel handed to {carrier}",
        f"{at:%Y-%m-%d} In transit",
    ]
    return ("\n".join(lines) + "\n").encode()


def photo(rng: random.Random, size: int = 16) -> bytes:
    """A ``size``-pixel square PNG of noise: a real image, small enough for a demo."""
    rows = b"".join(
        b"\x00" + bytes(rng.randrange(256) for _ in range(size * 3)) for _ in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
