"""A page's body for one reader: compressed as the reader accepts, with a fresh stamp.

The comment form carries a stamp that moves on every second (web/stamps.py). A page
holding one is cut where the stamps go, and each part compressed on its own as a gzip
member's deflate blocks; a gzip answer strings them together around the stamp, so a kept
page costs no compression of its own to send again. Brotli cannot be strung together so:
its body is compressed whole, once per stamp window, and kept until the window ends. A
page without stamps is compressed once per coding and the result kept with it.
"""

from __future__ import annotations

import asyncio
import struct
import zlib

from werkzeug.datastructures import Accept

from components.comments.stamps import window_stamp
from web import compression, stamps
from web.pages.store import Entry, Pages

GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, no mtime, unknown OS
_END = zlib.compressobj(wbits=-15).flush(zlib.Z_FINISH)  # an empty, final deflate block


def entry_of(headers: list[tuple[str, str]], body: bytes) -> Entry:
    """A rendered page as an entry, cut where its stamps go."""
    entry = Entry(headers, body.split(stamps.PLACEHOLDER.encode()))
    if entry.stamped:
        entry.deflated = [_deflate(part) for part in entry.parts]
        entry.head_crc = zlib.crc32(entry.parts[0])
    return entry


async def body_for(
    entry: Entry, accepted: Accept, secret: str, pages: Pages | None = None
) -> tuple[bytes, str | None]:
    """The page's body for a reader who accepts these codings, and the coding used; a page
    with a comment form gets a fresh stamp. An encoding made for a kept page (`pages`
    holds it) is kept with it."""
    coding = compression.negotiate(accepted)
    if not entry.stamped:
        whole = entry.parts[0]
        if coding is None or len(whole) < compression.MIN_SIZE:
            return whole, None
        if coding not in entry.encoded:
            encoded = await _encode(whole, coding)
            entry.encoded[coding] = encoded
            if pages is not None:
                pages.count_extra(len(encoded))
        return entry.encoded[coding], coding
    stamp = window_stamp(secret).encode()
    if coding == "br":
        return await _brotli_with(entry, stamp, pages), coding
    if accepted.quality("gzip") > 0:
        return _gzip_with(entry, stamp), "gzip"
    whole = stamp.join(entry.parts)
    if coding is None:
        return whole, None
    return await _encode(whole, coding), coding


async def _brotli_with(entry: Entry, stamp: bytes, pages: Pages | None) -> bytes:
    """The page with this stamp as brotli: made once per stamp window, then kept."""
    if entry.stamped_br is not None and entry.stamped_br[0] == stamp:
        return entry.stamped_br[1]
    encoded = await _encode(stamp.join(entry.parts), "br")
    if entry.stamped_br is None and pages is not None:
        pages.count_extra(len(encoded))
    entry.stamped_br = (stamp, encoded)
    return encoded


async def _encode(data: bytes, coding: str) -> bytes:
    level = compression.DYNAMIC_LEVEL[coding]
    if len(data) <= compression.INLINE_LIMIT:
        return compression.encode(data, coding, level)
    return await asyncio.to_thread(compression.encode, data, coding, level)


def _deflate(data: bytes) -> bytes:
    """Deflate blocks for `data` alone: they refer to nothing before or after them, and end
    on a byte boundary, so they can be put together with others into one stream."""
    compressor = zlib.compressobj(compression.DYNAMIC_LEVEL["gzip"], zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


def _gzip_with(entry: Entry, stamp: bytes) -> bytes:
    """The page as one gzip member, its parts' kept blocks around freshly deflated stamps."""
    stamp_blocks = _deflate(stamp)
    crc, length = entry.head_crc, len(entry.parts[0])
    pieces = [GZIP_HEADER, entry.deflated[0]]
    for part, blocks in zip(entry.parts[1:], entry.deflated[1:], strict=True):
        crc = zlib.crc32(part, zlib.crc32(stamp, crc))
        length += len(stamp) + len(part)
        pieces += (stamp_blocks, blocks)
    pieces += (_END, struct.pack("<II", crc, length & 0xFFFFFFFF))
    return b"".join(pieces)
