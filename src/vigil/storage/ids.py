"""Identifiers: time-ordered, unique, URL-safe (ULID layout in Crockford base32).

``new_id("ev")`` gives ``ev_01JD6Z3Q0M9K8X2W4V5T7R6S3A``: 48 bits of milliseconds then 80 random
bits, so ids sort by creation time and two processes never collide. The random bits come from
``random.getrandbits`` (seeded from the OS, and re-seeded in a forked child by Python itself):
ids need uniqueness, not secrecy, and this is several times faster than ``os.urandom``.
"""

from __future__ import annotations

import random
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Two base32 characters for every 10-bit value: 13 lookups encode the 130-bit ULID.
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)
_random = random.Random()


def _encode(number: int, length: int) -> str:
    """``number`` in ``length`` Crockford base32 characters (the reference, slow path)."""
    chars = []
    for _ in range(length):
        number, index = divmod(number, 32)
        chars.append(_ALPHABET[index])
    return "".join(reversed(chars))


def new_ulid(millis: int | None = None) -> str:
    """A 26-character ULID."""
    stamp = int(time.time() * 1000) if millis is None else millis
    value = ((stamp & 0xFFFF_FFFF_FFFF) << 80) | _random.getrandbits(80)
    pairs = _PAIRS
    return "".join([pairs[(value >> shift) & 0x3FF] for shift in range(120, -10, -10)])


def new_id(prefix: str) -> str:
    """``prefix_`` followed by a ULID."""
    return f"{prefix}_{new_ulid()}"
