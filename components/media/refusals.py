"""Refusals: the error an upload or a deletion is refused with, and the words its
messages give sizes and pixel counts in."""

from __future__ import annotations

import math


class MediaError(ValueError):
    """An upload or a deletion is refused; the message says why in words for the author.

    `status` is the HTTP status the web layer answers with: 413 when something is too
    large (bytes or pixels), 422 for everything else.
    """

    status: int

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def _decimal(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def size(count: int, *, up: bool = False) -> str:
    """Bytes as people read them (decimal units); `up` rounds up, so that a file just
    over the limit never reads as exactly the limit."""
    for unit, factor in (("MB", 1_000_000), ("kB", 1_000)):
        if count >= factor:
            tenths = count / factor * 10
            return f"{_decimal((math.ceil(tenths) if up else round(tenths)) / 10)} {unit}"
    return f"{count} bytes"


def megapixels(pixels: int) -> str:
    return _decimal(pixels / 1_000_000)
