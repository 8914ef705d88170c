"""The media library: uploaded images checked, cleaned, resized, stored and found again.

An upload is never trusted. Its type is read from its content by Pillow (the name and
the browser's claim are ignored), its pixel count is checked before anything is
decoded, and it is re-encoded so that no metadata leaves with it: no EXIF with the
place a photo was taken, no XMP, no ICC profile, no comments, no text chunks. Only a
file whose container is already clean may be kept as it is, when asked (`keep_clean`,
for importing what Quire once stored); its variants are made from its pixels as usual,
and the variants of a re-encoded file from the bytes stored, so that both agree.

The database keeps the bytes and is the source of truth, because a PaaS disk is
ephemeral and several app instances serve the same library. Each instance keeps a
copy of the files in its `instance/media` folder, named by content hash only, and
fills in what it lacks from the database (`materialise`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import io
import itertools
import math
import os
import re
import struct
import tempfile
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from sqlalchemy import ColumnElement, Insert, or_, select, union_all
from sqlalchemy import delete as delete_rows
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, selectinload

from components.markdown import Picture
from components.models import Media, MediaVariant, Post, User

# Pillow's names of the formats Quire accepts, and the type each is stored as. MPO is
# what Pillow calls a JPEG that carries extra pictures (a depth map, a second eye):
# it is a JPEG to every browser, and only its first picture is kept.
_ACCEPTED = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
_OPENERS = ["PNG", "JPEG", "WEBP", "GIF"]
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
_CONTENT_TYPES = {extension: content_type for content_type, extension in EXTENSIONS.items()}

# A still image above this is refused before it is decoded: 50 megapixels covers photos
# from phones and most cameras, and decoded as RGBA it already takes 200 MB of memory.
MAX_PIXELS = 50_000_000
# An animation's frames are all held in memory while it is re-encoded, so their sum
# is bounded too (e.g. 400 frames of 500x500).
MAX_ANIMATION_PIXELS = 100_000_000
# The widths `srcset` offers; only those narrower than the original are made.
VARIANT_WIDTHS = (480, 960, 1600)
JPEG_QUALITY = 85
WEBP_QUALITY = 85
MAX_FILENAME_LENGTH = 255
MAX_ALT_TEXT_LENGTH = 500

NOT_AN_IMAGE = "This file is not an image Quire accepts (PNG, JPEG, WebP or GIF)."
DAMAGED = "The image is damaged or incomplete, so Quire cannot read it."

# A stored file's name: its content hash and the extension of its verified type.
_FILE_NAME = re.compile(r"(?P<sha256>[0-9a-f]{64})\.(?P<extension>png|jpg|webp|gif)")

# What Pillow raises on hostile or broken input besides UnidentifiedImageError: its
# decoders report in many ways. Anything else is a bug here and is left to surface.
_UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)

# Bidirectional controls can make "gnp.exe" display as "exe.png"; they go with the
# other control characters.
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class MediaError(ValueError):
    """An upload or a deletion is refused; the message says why in words for the author.

    `status` is the HTTP status the web layer answers with: 413 when something is too
    large (bytes or pixels), 422 for everything else.
    """

    status: int

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class _Encoded:
    """One file as it will be stored: bytes of a verified type, and their hash."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str

    @classmethod
    def of(cls, data: bytes, content_type: str, size: tuple[int, int]) -> _Encoded:
        return cls(data, content_type, size[0], size[1], hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class _Prepared:
    original: _Encoded
    variants: list[_Encoded]


# --- names and types ---------------------------------------------------------


def file_name(sha256: str, content_type: str) -> str:
    """The name a stored file has on disk and in its URL: `<sha256>.<ext>`."""
    return f"{sha256}.{EXTENSIONS[content_type]}"


def content_type_of(name: str) -> str:
    """The type to serve a stored file as, from the extension `file_name` gave it."""
    extension = name.rpartition(".")[2].lower()
    return _CONTENT_TYPES.get(extension, "application/octet-stream")


def _without_controls(text: str) -> str:
    return "".join(
        char
        for char in unicodedata.normalize("NFC", text)
        if unicodedata.category(char) not in {"Cc", "Cs"} and char not in _BIDI_CONTROLS
    )


def _refuse_paths(filename: str) -> None:
    """A name with a folder in it is refused, never quietly cut down to its last part.

    Browsers send a bare name; a path (`../x.png`, `a/b.png`, `..\\x.png`) comes from a
    hand-made request probing for a file system write, and is answered plainly.
    """
    if "/" in filename or "\\" in filename or filename.strip() in {".", ".."}:
        raise MediaError(
            "The file name may not include a folder path (“/”, “\\” or “..”). "
            "Upload the file under a plain name."
        )


def _display_name(filename: str, extension: str) -> str:
    """The name the library shows: what the browser sent, cleaned.

    Only ever displayed. Files on disk are named by hash, so nothing here can reach
    the file system, whatever the upload was called.
    """
    # Paths are refused before this; taking the last part again costs nothing.
    name = _without_controls(filename.replace("\\", "/").rpartition("/")[2]).strip()
    if not name.strip("."):
        return f"image.{extension}"
    if len(name) <= MAX_FILENAME_LENGTH:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 10:
        return name[:MAX_FILENAME_LENGTH]
    return f"{stem[: MAX_FILENAME_LENGTH - len(suffix) - 1]}.{suffix}"


def _clean_alt_text(alt_text: str) -> str:
    alt = " ".join(_without_controls(alt_text).split())
    if len(alt) > MAX_ALT_TEXT_LENGTH:
        raise MediaError(
            f"The description is {len(alt)} characters long; the limit is {MAX_ALT_TEXT_LENGTH}."
        )
    return alt


def _decimal(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _size(size: int, *, up: bool = False) -> str:
    """Bytes as people read them (decimal units); `up` rounds up, so that a file just
    over the limit never reads as exactly the limit."""
    for unit, factor in (("MB", 1_000_000), ("kB", 1_000)):
        if size >= factor:
            tenths = size / factor * 10
            return f"{_decimal((math.ceil(tenths) if up else round(tenths)) / 10)} {unit}"
    return f"{size} bytes"


def _megapixels(pixels: int) -> str:
    return _decimal(pixels / 1_000_000)


def _too_many_pixels(max_pixels: int, width: int = 0, height: int = 0) -> MediaError:
    found = f"{width}x{height}, {_megapixels(width * height)} megapixels; " if width else ""
    return MediaError(
        f"The image is too large in pixels ({found}the limit is "
        f"{_megapixels(max_pixels)} megapixels).",
        status=413,
    )


# --- the image work (in a thread) ---------------------------------------------


def _prepare(data: bytes, max_pixels: int, keep_clean: bool = False) -> _Prepared:
    """Verify, clean and re-encode an upload, and make its variants: all the CPU work.

    With `keep_clean`, an upload that is already clean is verified and decoded all the
    same, but its own bytes are kept instead of an encoding of its pixels.
    """
    try:
        return _prepare_image(data, max_pixels, keep_clean)
    except MediaError:
        raise
    # Pillow's own bomb check fires inside Image.open on sizes far above ours: a
    # refusal like ours. The warning is an exception only where warnings are errors.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels) from None
    except UnidentifiedImageError:
        raise MediaError(NOT_AN_IMAGE) from None
    except _UNREADABLE as error:
        raise MediaError(DAMAGED) from error


def _prepare_image(data: bytes, max_pixels: int, keep_clean: bool) -> _Prepared:
    # `formats` limits Pillow to the plugins of accepted types, each of which
    # recognises its files by their first bytes.
    with Image.open(io.BytesIO(data), formats=_OPENERS) as image:
        content_type = _ACCEPTED.get(image.format or "")
        if content_type is None:
            raise MediaError(NOT_AN_IMAGE)
        width, height = image.size
        # Opening read only the header: nothing is decoded until this check passes.
        if width * height > max_pixels:
            raise _too_many_pixels(max_pixels, width, height)
        # An MPO's extra pictures are hidden data to us: it is never kept as it is.
        keep = keep_clean and image.format != "MPO" and _is_clean(data, content_type)
        kept = data if keep else None
        if image.format != "MPO" and getattr(image, "is_animated", False):
            return _Prepared(_animation(image, content_type, kept), [])
        return _still(image, content_type, kept)


def _still(image: Image.Image, content_type: str, kept: bytes | None) -> _Prepared:
    """A still image: its own bytes `kept`, or its cleaned pixels re-encoded."""
    image.load()
    # The walk over the container already refuses every place EXIF lives; asking
    # what Pillow found as well costs nothing, and the orientation rule must hold.
    if kept is not None and not image.getexif():
        return _Prepared(_Encoded.of(kept, content_type, image.size), _variants(image))
    still = _bare(_upright(image))
    original = _Encoded.of(_save(still, content_type), content_type, still.size)
    return _Prepared(original, _variants_of(original))


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says, as browsers would show it."""
    try:
        return ImageOps.exif_transpose(image)
    except _UNREADABLE:
        # Unreadable EXIF is thrown away below anyway; it is no reason to refuse a photo.
        return image.copy()


def _bare(image: Image.Image) -> Image.Image:
    """The pixels alone, in sRGB, with nothing in `info` for an encoder to carry over.

    A wide-gamut photo (Display P3, Adobe RGB) is converted rather than stripped of
    its profile, which would dull its colours. A copy starts with no cached EXIF.
    """
    icc = image.info.get("icc_profile")
    if image.mode in {"RGB", "RGBA", "CMYK"} and icc:
        output = "RGBA" if image.mode == "RGBA" else "RGB"
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image, source, _srgb(), outputMode=output)
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # A broken or mismatched profile: the pixels are kept as they are.
    if image.mode == "CMYK":
        image = image.convert("RGB")
    bare = image.copy()
    bare.info = {key: image.info[key] for key in ("transparency",) if key in image.info}
    return bare


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


# Passed to every save, so that no encoder falls back to metadata it finds in `info`
# (PNG takes the ICC profile from there, JPEG and GIF the comment).
_NO_METADATA: dict[str, Any] = {"exif": b"", "icc_profile": None, "comment": b""}
_ENCODINGS: dict[str, dict[str, Any]] = {
    "image/png": {"format": "PNG"},
    "image/jpeg": {
        "format": "JPEG",
        "quality": JPEG_QUALITY,
        "optimize": True,
        "progressive": True,
    },
    "image/webp": {"format": "WEBP", "quality": WEBP_QUALITY},
    "image/gif": {"format": "GIF"},
}


def _save(image: Image.Image, content_type: str, **options: Any) -> bytes:
    output = io.BytesIO()
    image.save(output, **_ENCODINGS[content_type], **_NO_METADATA, **options)
    return output.getvalue()


def _animation(image: Image.Image, content_type: str, kept: bytes | None) -> _Encoded:
    """Every frame kept with its timing and the loop count; nothing else.

    Every frame is decoded, also when the file's own bytes are `kept`: that is what
    finds a damaged one. EXIF orientation is not applied to animations (GIF has none,
    and Pillow turns one frame only), and no variants are made: a still variant in
    `srcset` would stop the animation, and resizing every frame costs more than it saves.
    """
    durations = _decode_frames(image)
    if kept is not None:
        return _Encoded.of(kept, content_type, image.size)
    # Without a loop count a GIF plays once; adding one would change it.
    loop = {"loop": image.info["loop"]} if "loop" in image.info else {}
    data = _save(image, content_type, save_all=True, duration=durations, **loop)
    return _Encoded.of(data, content_type, image.size)


def _decode_frames(image: Image.Image) -> list[float]:
    """Decode every frame, within the animation budget; their durations, back at frame 0."""
    width, height = image.size
    durations: list[float] = []
    # Counted frame by frame, so that a long animation is refused after decoding no
    # more than the budget, not all of it.
    for index in itertools.count():
        try:
            image.seek(index)
        except EOFError:
            break
        if (index + 1) * width * height > MAX_ANIMATION_PIXELS:
            raise MediaError(
                f"The animation is too large: its frames come to more than "
                f"{_megapixels(MAX_ANIMATION_PIXELS)} megapixels in all.",
                status=413,
            )
        image.load()
        durations.append(image.info.get("duration", 0))
    image.seek(0)
    return durations


def _rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB or RGBA for WebP: 16-bit greys are scaled down, not clipped to white."""
    if image.mode in {"I", "I;16", "I;16B", "I;16L"}:
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _variants(image: Image.Image) -> list[_Encoded]:
    width, height = image.size
    source = _rgb(image)
    variants = []
    for target in VARIANT_WIDTHS:
        if target >= width:
            continue
        size = (target, max(1, round(height * target / width)))
        # reducing_gap shrinks by whole factors first: much faster, no visible cost.
        small = source.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        variants.append(_Encoded.of(_save(small, "image/webp"), "image/webp", size))
    return variants


def _variants_of(original: _Encoded) -> list[_Encoded]:
    """The variants of a re-encoded original, made from the bytes that are stored.

    Not from the pixels before encoding: JPEG and WebP lose a little on the way, and
    storing these bytes again (an export imported with `keep_clean`) makes its variants
    from the stored pixels; both must give the same files.
    """
    if original.width <= min(VARIANT_WIDTHS):
        return []  # none would be made; no need to decode
    with Image.open(io.BytesIO(original.data), formats=_OPENERS) as stored:
        stored.load()
        return _variants(stored)


# --- is a file already clean? (in a thread) ---------------------------------------
#
# A file is clean when its container holds nothing but what it takes to show the
# picture: every part of it is on a list below, in an order the format allows, and
# anything else (metadata, an unknown chunk, a second picture, bytes after the end)
# makes it not clean. Only the structure is read, so this costs no decode; the
# pixels are decoded afterwards as for any upload, which is what finds damage.


class _NotClean(Exception):
    """Raised inside a walk as soon as a file turns out not to be clean."""


def _require(condition: bool) -> None:
    if not condition:
        raise _NotClean


def _is_clean(data: bytes, content_type: str) -> bool:
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
    _require(len(body) == 14 and body[:5] == b"JFIF\0" and body[12:14] == b"\0\0")


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
    _require(view[:4] == b"RIFF" and view[8:12] == b"WEBP")
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


# --- files on disk (in a thread) ------------------------------------------------


def _write_atomically(folder: Path, name: str, data: bytes) -> None:
    """Write `folder/name` so that a reader sees the whole file or none of it."""
    folder.mkdir(parents=True, exist_ok=True)
    # The temporary name starts with a dot, which `_FILE_NAME` never matches: a
    # leftover from a crash is never served.
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            # A file on disk is trusted as it is, so it must never be left half-written.
            os.fsync(file.fileno())
        # mkstemp makes files private; a reverse proxy may serve this folder directly.
        os.chmod(temporary, 0o644)
        os.replace(temporary, folder / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _write_files(folder: Path, files: Iterable[_Encoded]) -> None:
    for encoded in files:
        _write_atomically(folder, file_name(encoded.sha256, encoded.content_type), encoded.data)


def _remove_files(folder: Path, names: Iterable[str]) -> None:
    for name in names:
        (folder / name).unlink(missing_ok=True)


# --- storing -------------------------------------------------------------------


def _insert_new(session: AsyncSession, model: type[Media | MediaVariant]) -> Insert:
    """An INSERT that skips rows whose hash is already stored, on either database.

    Two uploads of the same picture at once must not fail on the unique hash; and two
    different originals (a PNG and a GIF of the same pixels) can give the same variant.
    """
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[
        session.get_bind().dialect.name
    ]
    return insert(model).on_conflict_do_nothing(index_elements=["sha256"])


async def _one(session: AsyncSession, condition: ColumnElement[bool]) -> Media | None:
    query = select(Media).where(condition).options(selectinload(Media.variants))
    return await session.scalar(query)


async def _checked(data: bytes, max_bytes: int, max_pixels: int, keep_clean: bool) -> _Prepared:
    if not data:
        raise MediaError("The file is empty.")
    if len(data) > max_bytes:
        raise MediaError(
            f"The file is {_size(len(data), up=True)}; the limit is {_size(max_bytes)}.",
            status=413,
        )
    # Decoding and encoding take whole seconds for a large photo: not on the event loop.
    return await asyncio.to_thread(_prepare, data, max_pixels, keep_clean)


async def stored_hash(
    data: bytes, *, max_bytes: int, max_pixels: int = MAX_PIXELS, keep_clean: bool = False
) -> str:
    """The hash `store` would give these bytes, or its MediaError, storing nothing: what a
    dry run needs to know whether the library already holds an image."""
    return (await _checked(data, max_bytes, max_pixels, keep_clean)).original.sha256


async def store(
    session: AsyncSession,
    data: bytes,
    *,
    filename: str,
    owner: User | None,
    max_bytes: int,
    folder: Path,
    alt_text: str = "",
    max_pixels: int = MAX_PIXELS,
    keep_clean: bool = False,
) -> Media:
    """Add an uploaded image to the library, or return the one already holding it.

    Raises MediaError before anything is stored when the upload is refused. The rows
    are flushed, not committed: the caller commits. The files are written to `folder`
    at once; should the caller roll back, `materialise` never serves them, because it
    asks the database first.

    `keep_clean` is for files Quire stored before (an export being imported): when
    the file is already clean, its bytes are stored exactly as given, so it keeps its
    hash and loses nothing to a second lossy encoding. Clean means its container holds
    only the picture, nothing that re-encoding would remove: no EXIF (so no
    orientation to apply), XMP, ICC profile, comment, text, unknown chunk, second
    picture or bytes after its end. Everything else is as without it: the type comes
    from the content, the pixel limits apply, every pixel is decoded (a damaged file
    is refused), and the variants are made from the decoded pixels. A file that is
    not clean is re-encoded as usual.
    """
    _refuse_paths(filename)
    alt = _clean_alt_text(alt_text)
    prepared = await _checked(data, max_bytes, max_pixels, keep_clean)
    original = prepared.original
    if owner is not None and owner.id is None:
        await session.flush()
    media_id = await session.scalar(
        _insert_new(session, Media)
        .values(
            owner_id=owner.id if owner is not None else None,
            filename=_display_name(filename, EXTENSIONS[original.content_type]),
            content_type=original.content_type,
            size=len(original.data),
            sha256=original.sha256,
            width=original.width,
            height=original.height,
            alt_text=alt,
            data=original.data,
        )
        .returning(Media.id)
    )
    if media_id is None:
        existing = await _one(session, Media.sha256 == original.sha256)
        assert existing is not None, "the insert was skipped because this hash is stored"
        return existing
    if prepared.variants:
        rows = [
            {
                "media_id": media_id,
                "width": variant.width,
                "height": variant.height,
                "content_type": variant.content_type,
                "size": len(variant.data),
                "sha256": variant.sha256,
                "data": variant.data,
            }
            for variant in prepared.variants
        ]
        await session.execute(_insert_new(session, MediaVariant).values(rows))
    media = await _one(session, Media.id == media_id)
    assert media is not None, "just inserted"
    await asyncio.to_thread(_write_files, folder, [original, *prepared.variants])
    return media


# --- serving ---------------------------------------------------------------------


async def materialise(session: AsyncSession, name: str, folder: Path) -> Path | None:
    """The file on disk for a requested name like `<sha256>.webp`, or None if unknown.

    The database is asked every time, so a file deleted through another app instance
    stops being served here too (and its stale copy is removed). A file this instance
    does not have yet is written from the database first.
    """
    match = _FILE_NAME.fullmatch(name)
    if match is None:
        return None
    sha256 = match["sha256"]
    content_type = await session.scalar(
        union_all(
            select(Media.content_type).where(Media.sha256 == sha256),
            select(MediaVariant.content_type).where(MediaVariant.sha256 == sha256),
        )
    )
    path = folder / name
    if content_type is None:
        await asyncio.to_thread(_remove_files, folder, [name])
        return None
    if EXTENSIONS.get(content_type) != match["extension"]:
        return None
    if not await asyncio.to_thread(path.is_file):
        data = await session.scalar(
            union_all(
                select(Media.data).where(Media.sha256 == sha256),
                select(MediaVariant.data).where(MediaVariant.sha256 == sha256),
            )
        )
        if data is None:
            return None  # deleted between the two statements
        await asyncio.to_thread(_write_atomically, folder, name, data)
    return path


# --- finding and deleting -----------------------------------------------------------


async def library(
    session: AsyncSession, *, owner: User | None, query: str = "", limit: int = 200
) -> Sequence[Media]:
    """The newest media first, with their variants and without their bytes.

    `owner` None lists everyone's (for admins). `query` matches the file name or the
    alt text, ignoring case.
    """
    statement = (
        select(Media)
        .options(selectinload(Media.variants))
        .order_by(Media.created_at.desc(), Media.id.desc())
        .limit(limit)
    )
    if owner is not None:
        statement = statement.where(Media.owner_id == owner.id)
    words = query.strip()
    if words:
        # The user's % and _ are literal characters, not wildcards.
        escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        statement = statement.where(
            or_(
                Media.filename.ilike(pattern, escape="\\"),
                Media.alt_text.ilike(pattern, escape="\\"),
            )
        )
    return (await session.scalars(statement)).all()


async def by_id(session: AsyncSession, media_id: int) -> Media | None:
    """One media item with its variants (without bytes)."""
    return await _one(session, Media.id == media_id)


async def _variant_files(session: AsyncSession, media: Media) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(MediaVariant.sha256, MediaVariant.content_type).where(
            MediaVariant.media_id == media.id
        )
    )
    return [(sha256, content_type) for sha256, content_type in rows]


async def used_by(session: AsyncSession, media: Media) -> Sequence[Post]:
    """The posts whose Markdown mentions this media's URL, or one of its variants'.

    Every URL of a stored file contains its hash, and a hash (hex) cannot occur in
    a post by accident. Drafts count: publishing one must not break its images.
    """
    hashes = [media.sha256, *(sha256 for sha256, _ in await _variant_files(session, media))]
    query = (
        select(Post)
        .where(or_(*(Post.body.contains(sha256) for sha256 in hashes)))
        .options(load_only(Post.id, Post.title, Post.slug, raiseload=True))
        .order_by(Post.title, Post.id)
    )
    return (await session.scalars(query)).all()


async def delete(session: AsyncSession, media: Media, folder: Path) -> None:
    """Delete a media item, its variants and their files, unless a post still uses it.

    Flushed, not committed. The files go at once: should the caller roll back, the
    rows are still there and `materialise` writes the files again.
    """
    posts = await used_by(session, media)
    if posts:
        titles = ", ".join(f"“{post.title}”" for post in posts[:5])
        more = f" and {len(posts) - 5} more" if len(posts) > 5 else ""
        raise MediaError(f"Still used by: {titles}{more}.")
    names = [file_name(media.sha256, media.content_type)]
    names += [file_name(sha256, kind) for sha256, kind in await _variant_files(session, media)]
    # A bulk DELETE: the variants go by ON DELETE CASCADE, without being loaded.
    await session.execute(delete_rows(Media).where(Media.id == media.id))
    await asyncio.to_thread(_remove_files, folder, names)


_MENTIONED = re.compile(r"\b([0-9a-f]{64})\.(?:png|jpg|webp|gif)\b")


async def for_body(session: AsyncSession, body: str) -> Sequence[Media]:
    """The library images a Markdown text shows (found by their hashed file names)."""
    hashes = set(_MENTIONED.findall(body))
    if not hashes:
        return []
    statement = select(Media).where(Media.sha256.in_(hashes)).options(selectinload(Media.variants))
    return (await session.scalars(statement)).all()


async def pictures(
    session: AsyncSession,
    body: str,
    *,
    url: Callable[[Media], str],
    picture: Callable[[Media], Picture | None],
) -> dict[str, Picture]:
    """The responsive sizes of the library images a Markdown text shows, by their `url`
    (which the web layer gives, as it gives `picture` its srcset)."""
    found = {}
    for item in await for_body(session, body):
        if (sizes := picture(item)) is not None:
            found[url(item)] = sizes
    return found
