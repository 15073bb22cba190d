"""Identifiers: time-ordered, unique, URL-safe (ULID layout in Crockford base32).

``new_id("ev")`` gives ``ev_01JD6Z3Q0M9K8X2W4V5T7R6S3A``: 48 bits of milliseconds then 80 random
bits, so ids sort by creation time and two processes never collide.
"""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, index = divmod(number, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def new_ulid(millis: int | None = None) -> str:
    """A 26-character ULID."""
    stamp = int(time.time() * 1000) if millis is None else millis
    randomness = int.from_bytes(os.urandom(10), "big")
    return _encode(stamp, 10) + _encode(randomness, 16)


def new_id(prefix: str) -> str:
    """``prefix_`` followed by a ULID."""
    return f"{prefix}_{new_ulid()}"
