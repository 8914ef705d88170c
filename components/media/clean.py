"""Whether a file is already clean, and so may be stored as it is (`keep_clean`); run
in a thread, with the image work.

A file is clean when its container holds nothing but what it takes to show the
picture: every part of it is on a list below, in an order the format allows, and
anything else (metadata, an unknown chunk, a second picture, bytes after the end)
makes it not clean. Only the structure is read, so this costs no decode; the
pixels are decoded afterwards as for any upload, which is what finds damage.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable, Iterator


class _NotClean(Exception):
    """Raised inside a walk as soon as a file turns out not to be clean."""


def _require(condition: bool) -> None:
    if not condition:
        raise _NotClean


def is_clean(data: bytes, content_type: str) -> bool:
    """Whether `data`, already identified as `content_type`, may be stored as it is."""
    try:
        _WALKS[content_type](memoryview(data))
    # A file too broken to walk is no more clean than one with metadata: it goes on to
    # be re-encoded, and decoding it there refuses it if it is damaged.
    except (_NotClean, IndexError, struct.error):
        return False
    return True


# PNG: one letter per chunk Quire's PNGs are made of. Pillow writes no others for the
# images Quire saves (checked by saving every mode it can write), and acTL, fcTL and
# fdAT only for an animation.
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_LETTERS = {
    b"IHDR": "H",
    b"PLTE": "P",
    b"tRNS": "T",
    b"IDAT": "I",
    b"IEND": "E",
    b"acTL": "A",
    b"fcTL": "F",
    b"fdAT": "D",
}
# A still image; or an animation, whose first frame may or may not be the IDAT image.
_PNG_ORDER = re.compile(r"HP?T?(?:I+|AF?I+(?:FD+)*)E")
_PNG_SIZES = {b"IHDR": 13, b"IEND": 0, b"acTL": 8, b"fcTL": 26}


def _png_chunks(view: memoryview) -> Iterator[tuple[bytes, memoryview]]:
    """Each chunk's type and data, up to IEND; a bad length or CRC, or bytes after
    IEND, end the walk. The CRC is checked because a file kept as it is reaches
    browsers, and some refuse a chunk whose CRC is wrong where Pillow does not."""
    _require(view[:8] == _PNG_SIGNATURE)
    position = 8
    while True:
        length, kind = struct.unpack_from(">I4s", view, position)
        end = position + 8 + length
        _require(length < 2**31 and end + 4 <= len(view))
        _require(zlib.crc32(view[position + 4 : end]) == struct.unpack_from(">I", view, end)[0])
        yield kind, view[position + 8 : end]
        position = end + 4
        if kind == b"IEND":
            _require(position == len(view))
            return


def _check_png(view: memoryview) -> None:
    letters = []
    frame_sequence = 0
    for kind, body in _png_chunks(view):
        _require(kind in _PNG_LETTERS and len(body) == _PNG_SIZES.get(kind, len(body)))
        letter = _PNG_LETTERS[kind]
        if letter in "FD":
            # An animation's chunks are numbered 0, 1, 2… across fcTL and fdAT.
            _require(struct.unpack_from(">I", body)[0] == frame_sequence)
            frame_sequence += 1
        letters.append(letter)
    _require(_PNG_ORDER.fullmatch("".join(letters)) is not None)


# JPEG: the markers of a picture coded the way browsers show JPEGs (Huffman coding;
# baseline, extended or progressive; 8 bits; grey or three components), which is
# also how Pillow writes Quire's JPEGs. No APP1..APP15 (EXIF, XMP, ICC, Adobe, MPF),
# no COM, no arithmetic, lossless or hierarchical coding.
_SOI, _EOI, _SOS, _APP0 = 0xD8, 0xD9, 0xDA, 0xE0
_JPEG_TABLES = {0xC4, 0xDB, 0xDD}  # DHT, DQT, DRI
_JPEG_FRAMES = {0xC0, 0xC1, 0xC2}  # SOF0, SOF1, SOF2
# libjpeg's progressive files have about 25 segments; a file of thousands of tiny ones
# would only make this walk slow.
_MAX_JPEG_SEGMENTS = 500
# Where an entropy-coded scan ends: 0xFF followed by a marker, not by a stuffed zero or
# a restart marker (RST0..RST7), which belong to the scan.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _check_jpeg(view: memoryview) -> None:
    _require(view[:2] == bytes((0xFF, _SOI)))
    position, frame, scans = 2, False, 0
    for segment in range(_MAX_JPEG_SEGMENTS):
        # No fill bytes before a marker: encoders write none, so none are accepted.
        _require(view[position] == 0xFF)
        marker = view[position + 1]
        if marker == _EOI:
            _require(scans > 0 and position + 2 == len(view))
            return
        (length,) = struct.unpack_from(">H", view, position + 2)
        body = view[position + 4 : position + 2 + length]
        _require(length >= 2 and len(body) == length - 2)
        position += 2 + length
        if marker == _APP0 and segment == 0:
            _check_jfif(body)
        elif marker in _JPEG_FRAMES and not frame:
            _check_frame(body)
            frame = True
        elif marker == _SOS and frame:
            scans += 1
            position = _scan_end(view, position)
        else:
            _require(marker in _JPEG_TABLES)
    raise _NotClean


def _scan_end(view: memoryview, position: int) -> int:
    found = _SCAN_END.search(view, position)
    if found is None:
        raise _NotClean  # a scan that runs to the end of the file: no EOI
    return found.start()


def _check_jfif(body: memoryview) -> None:
    """A JFIF header and nothing else: version, units, density, and no thumbnail."""
    _require(
        len(body) == 14 and body[:5].tobytes() == b"JFIF\0" and body[12:14].tobytes() == b"\0\0"
    )


def _check_frame(body: memoryview) -> None:
    precision, height, width, components = struct.unpack_from(">BHHB", body)
    # A height of 0 is given later, in a DNL marker, which browsers do not all read.
    _require(precision == 8 and height > 0 and width > 0 and components in {1, 3})
    _require(len(body) == 6 + 3 * components)


# WebP: the chunks of a still (lossy, lossless, or lossy with alpha) or an animation.
# VP8X may announce alpha and animation, never ICC, EXIF or XMP.
_VP8X_ALPHA, _VP8X_ANIMATION = 0x10, 0x02
_WEBP_IMAGES = ([b"VP8 "], [b"VP8L"], [b"ALPH", b"VP8 "])
_ANMF_HEADER = 16


def _riff_chunks(view: memoryview) -> list[tuple[bytes, memoryview]]:
    """The chunks filling `view` exactly, each padded to an even size with a zero."""
    chunks = []
    position = 0
    while position < len(view):
        kind, size = struct.unpack_from("<4sI", view, position)
        end = position + 8 + size
        padded = end + (size & 1)
        _require(padded <= len(view) and (size & 1 == 0 or view[end] == 0))
        chunks.append((kind, view[position + 8 : end]))
        position = padded
    return chunks


def _check_webp(view: memoryview) -> None:
    _require(view[:4].tobytes() == b"RIFF" and view[8:12].tobytes() == b"WEBP")
    # The RIFF size covers the whole file: nothing may follow it.
    _require(struct.unpack_from("<I", view, 4)[0] + 8 == len(view))
    chunks = _riff_chunks(view[12:])
    kinds = [kind for kind, _ in chunks]
    if kinds[:1] != [b"VP8X"]:
        _require(kinds in _WEBP_IMAGES[:2])
        return
    header = chunks[0][1]
    _require(len(header) == 10 and header[0] & ~(_VP8X_ALPHA | _VP8X_ANIMATION) == 0)
    _require(not any(header[1:4]))
    if not header[0] & _VP8X_ANIMATION:
        _require(kinds[1:] in _WEBP_IMAGES)
        return
    _require(kinds[1:2] == [b"ANIM"] and len(chunks[1][1]) == 6 and len(chunks) > 2)
    for kind, frame in chunks[2:]:
        _require(kind == b"ANMF" and len(frame) > _ANMF_HEADER)
        inner = [inner_kind for inner_kind, _ in _riff_chunks(frame[_ANMF_HEADER:])]
        _require(inner in _WEBP_IMAGES)


# GIF: images, graphic control extensions (timing, transparency) and the NETSCAPE2.0
# loop count. No comments, plain text or other application extensions (XMP).
#
# Walked rather than trusted to re-encode stably: today Pillow re-encodes a GIF it
# wrote to the same bytes (measured, stills and animations), but that is a property
# of one Pillow version's writer, and an export must import the same under the next.
_GIF_SIGNATURES = (b"GIF87a", b"GIF89a")
_GIF_TRAILER, _GIF_IMAGE, _GIF_EXTENSION, _GIF_CONTROL = 0x3B, 0x2C, 0x21, 0xF9
_GIF_LOOP = b"\x21\xff\x0bNETSCAPE2.0\x03\x01"
_GIF_LOOP_SIZE = len(_GIF_LOOP) + 3  # the count (2 bytes) and the terminator


def _gif_colour_table(flags: int) -> int:
    """The size in bytes of the colour table a descriptor's flags announce."""
    return 3 * 2 ** ((flags & 0x07) + 1) if flags & 0x80 else 0


def _check_gif(view: memoryview) -> None:
    _require(view[:6] in _GIF_SIGNATURES)
    position = 13 + _gif_colour_table(view[10])
    images = 0
    while view[position] != _GIF_TRAILER:
        if view[position] == _GIF_IMAGE:
            position = _gif_image_end(view, position)
            images += 1
        elif view[position] == _GIF_EXTENSION and view[position + 1] == _GIF_CONTROL:
            _require(view[position + 2] == 4 and view[position + 7] == 0)
            position += 8
        else:
            _require(view[position : position + len(_GIF_LOOP)] == _GIF_LOOP)
            _require(view[position + _GIF_LOOP_SIZE - 1] == 0)
            position += _GIF_LOOP_SIZE
    _require(images > 0 and position + 1 == len(view))


def _gif_image_end(view: memoryview, position: int) -> int:
    """Where the image starting at `position` ends: after its descriptor, colour table,
    LZW code size and data sub-blocks."""
    position += 10 + _gif_colour_table(view[position + 9]) + 1
    # Every encoder fills each sub-block (255 bytes) but the last; asking that of a
    # clean file keeps this loop to one step per 256 bytes, however the file is cut.
    while (size := view[position]) != 0:
        _require(size == 255 or view[position + 1 + size] == 0)
        position += 1 + size
    return position + 1


_WALKS: dict[str, Callable[[memoryview], None]] = {
    "image/png": _check_png,
    "image/jpeg": _check_jpeg,
    "image/webp": _check_webp,
    "image/gif": _check_gif,
}
