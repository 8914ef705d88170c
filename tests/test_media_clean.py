"""Storing a file as it is (`keep_clean`): only when its container is already clean.

The point of it is the round trip of an export: a file Quire stored, stored again into
an empty library, must keep its hash and give the same variants.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components.media import clean, images
from components.media.library import store
from components.media.refusals import MediaError
from components.models import Media, MediaVariant
from tests.conftest import reset_database, session_on
from tests.media_helpers import (
    ICC,
    XMP,
    animation,
    assert_bare,
    camera_exif,
    encode,
    files,
    halves,
    noise,
    png_declaring,
    stored_bytes,
)

LIMIT = 10_000_000
SECRETS = (b"Quire Camera", b"Secret place", b"secret")


# --- images made in memory ---------------------------------------------------


def photo(size: tuple[int, int] = (1000, 500), mode: str = "RGB") -> Image.Image:
    """Smooth colours with detail, like a photo: a lossy encoder never reproduces it."""
    generator = random.Random(11)
    small = (size[0] // 10, size[1] // 10)
    image = Image.frombytes("RGB", small, generator.randbytes(small[0] * small[1] * 3))
    return image.resize(size, Image.Resampling.BICUBIC).convert(mode)


def with_alpha(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(image.size))
    return rgba


def frames(mode: str = "RGB") -> list[Image.Image]:
    return [photo((120, 80)).rotate(angle).convert(mode) for angle in (0, 90, 180)]


def animated(image_format: str, mode: str = "RGB", **options: Any) -> bytes:
    first, *rest = frames(mode)
    return encode(
        first, image_format, save_all=True, append_images=rest, duration=[100, 200, 300], **options
    )


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_png_chunk(data: bytes, chunk: bytes) -> bytes:
    """`chunk` placed just before IEND."""
    end = data.rindex(b"IEND") - 4
    return data[:end] + chunk + data[end:]


def jpeg_segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def with_jpeg_segment(data: bytes, segment: bytes) -> bytes:
    """`segment` placed after the JFIF header."""
    (length,) = struct.unpack_from(">H", data, 4)
    return data[: 4 + length] + segment + data[4 + length :]


def with_gif_extension(data: bytes, extension: bytes) -> bytes:
    """`extension` placed before the first image."""
    start = data.index(b"\x2c", 13)
    return data[:start] + extension + data[start:]


def gif_xmp() -> bytes:
    packet = b"\x21\xff\x0bXMP DataXMP" + XMP
    # XMP in GIF ends with a "magic trailer" that makes its bytes parse as sub-blocks.
    return packet + b"\x01" + bytes(range(255, -1, -1)) + b"\x00"


def png_with_text(kind: str) -> bytes:
    text = PngImagePlugin.PngInfo()
    if kind == "tEXt":
        text.add_text("Comment", "secret")
    elif kind == "zTXt":
        text.add_text("Comment", "secret " * 10, zip=True)
    else:
        text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    return encode(photo(), "PNG", pnginfo=text)


def png_with_damaged_pixels() -> bytes:
    """Chunks all in order, CRCs right: only the compressed pixels are wrong."""
    data = encode(noise(), "PNG")
    start = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[start - 4 : start])
    pixels = bytearray(data[start + 4 : start + 4 + length])
    pixels[200:600] = bytes(400)
    return data[: start - 4] + png_chunk(b"IDAT", bytes(pixels)) + data[start + 8 + length :]


def jpeg_with_damaged_scan() -> bytes:
    """Markers all in order, ending in EOI, but the coded data is cut short and broken."""
    data = encode(noise(), "JPEG", progressive=True)
    scan = data.index(b"\xff\xda")
    return data[: scan + 200] + b"\xff\xd9"


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


# --- helpers -------------------------------------------------------------------


async def keep(db: AsyncSession, data: bytes, folder: Path, **fields: Any) -> Media:
    fields = {"filename": "picture.png", "owner": None, "max_bytes": LIMIT, **fields}
    stored = await store(db, data, folder=folder, keep_clean=True, **fields)
    await db.commit()
    return stored


async def variant_files(db: AsyncSession, item: Media) -> list[tuple[int, str, bytes]]:
    rows = await db.execute(
        select(MediaVariant.width, MediaVariant.sha256, MediaVariant.data)
        .where(MediaVariant.media_id == item.id)
        .order_by(MediaVariant.width)
    )
    return [(width, sha256, data) for width, sha256, data in rows]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def has_no_secrets(data: bytes) -> bool:
    return not any(secret in data for secret in SECRETS)


# --- the round trip: stored, then stored again as it is ---------------------------

# Uploads with metadata, as authors send them; what Quire stores from each is clean.
# The stills are 1000 pixels wide, so that they have variants 480 and 960 wide.
ROUND_TRIPS: dict[str, Callable[[], bytes]] = {
    "png": lambda: encode(photo(), "PNG", exif=camera_exif(), icc_profile=ICC),
    "png with alpha": lambda: encode(with_alpha(photo()), "PNG"),
    "png with a palette": lambda: encode(photo().convert("P"), "PNG", transparency=3),
    "png 16-bit grey": lambda: encode(photo().convert("L").convert("I;16"), "PNG"),
    "jpeg": lambda: encode(photo(), "JPEG", exif=camera_exif(), quality=95, comment=b"secret"),
    "jpeg grey": lambda: encode(photo(mode="L"), "JPEG", xmp=XMP),
    "jpeg cmyk": lambda: encode(photo(mode="CMYK"), "JPEG"),
    "webp": lambda: encode(photo(), "WEBP", exif=camera_exif(), xmp=XMP, quality=95),
    "webp with alpha": lambda: encode(with_alpha(photo()), "WEBP", lossless=True),
    "gif still": lambda: encode(photo().convert("P"), "GIF", comment=b"secret"),
    "gif still with transparency": lambda: encode(photo().convert("P"), "GIF", transparency=0),
    "gif animated": lambda: animated("GIF", loop=0, comment=b"secret"),
    "gif animated once": lambda: animated("GIF"),
    "gif animated with transparency": lambda: animated("GIF", "RGBA", loop=0, disposal=2),
    "webp animated": lambda: animated("WEBP", loop=0, exif=camera_exif()),
    "png animated": lambda: animated("PNG", loop=0),
    "png animated with a palette": lambda: animated("PNG", "P", loop=2),
}


@pytest.mark.parametrize(("name", "make"), ROUND_TRIPS.items(), ids=ROUND_TRIPS)
async def test_a_stored_file_stored_again_as_it_is_keeps_its_hash_and_variants(
    db: AsyncSession, database_url: str, tmp_path: Path, name: str, make: Callable[[], bytes]
) -> None:
    first = await store(
        db, make(), filename="a", owner=None, max_bytes=LIMIT, folder=tmp_path / "first"
    )
    await db.commit()
    exported = await stored_bytes(db, first)
    variants = await variant_files(db, first)
    await db.close()
    assert clean.is_clean(exported, first.content_type)
    widths = [width for width, _, _ in variants]
    assert widths == ([] if "animated" in name else [480, 960])

    # An empty library, as an import starts with.
    await reset_database(database_url)
    async with session_on(database_url) as fresh:
        again = await keep(fresh, exported, tmp_path / "again")
        assert await stored_bytes(fresh, again) == exported
        assert (again.sha256, again.content_type) == (first.sha256, first.content_type)
        assert (again.width, again.height) == (first.width, first.height)
        assert await variant_files(fresh, again) == variants
    written = sorted(path.name for path in (tmp_path / "again").iterdir())
    assert written == sorted(path.name for path in (tmp_path / "first").iterdir())


@pytest.mark.parametrize("image_format", ["JPEG", "WEBP"])
def test_without_keep_clean_a_lossy_file_changes_each_time_it_is_stored(
    image_format: str,
) -> None:
    # The reason for the keyword: each re-encoding loses a little more, and the hash moves.
    stored = images.prepare(encode(photo(), image_format), images.MAX_PIXELS).original
    again = images.prepare(stored.data, images.MAX_PIXELS).original
    kept = images.prepare(stored.data, images.MAX_PIXELS, True).original
    assert again.sha256 != stored.sha256
    assert kept.sha256 == stored.sha256


@pytest.mark.parametrize(
    "make",
    [
        lambda: encode(photo(), "PNG"),
        lambda: encode(photo(), "JPEG"),
        lambda: encode(with_alpha(photo()), "WEBP"),
        lambda: encode(photo().convert("P"), "GIF"),
    ],
    ids=["png", "jpeg", "webp", "gif"],
)
@pytest.mark.parametrize("keep_clean", [False, True])
def test_the_same_file_gives_the_same_bytes_each_time(
    make: Callable[[], bytes], keep_clean: bool
) -> None:
    data = make()
    first, second = (images.prepare(data, images.MAX_PIXELS, keep_clean) for _ in range(2))
    assert len(first.variants) == 2
    assert first == second


# What Pillow writes when Quire saves each mode it stores: all of it must be clean, or
# a Pillow upgrade that adds a chunk would quietly end the round trip.
SAVED_MODES = [
    *(("image/png", mode) for mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I;16")),
    *(("image/jpeg", mode) for mode in ("L", "RGB")),
    *(("image/webp", mode) for mode in ("RGB", "RGBA")),
    *(("image/gif", mode) for mode in ("L", "P")),
]


@pytest.mark.parametrize(("content_type", "mode"), SAVED_MODES)
def test_everything_quire_saves_is_clean(content_type: str, mode: str) -> None:
    image = with_alpha(photo((64, 32))) if "A" in mode else photo((64, 32))
    image = image.convert(mode)
    if mode == "P":
        image.info["transparency"] = 0
    assert clean.is_clean(images._save(image, content_type), content_type)


@pytest.mark.parametrize("image_format", ["PNG", "GIF", "WEBP"])
def test_every_animation_quire_saves_is_clean(image_format: str) -> None:
    stored = images.prepare(animated(image_format, "RGBA", loop=0), images.MAX_PIXELS).original
    assert clean.is_clean(stored.data, stored.content_type)


@pytest.mark.parametrize(
    ("image_format", "options"),
    [
        ("PNG", {}),
        ("PNG", {"optimize": True}),
        ("JPEG", {"quality": 95}),
        ("JPEG", {"progressive": True, "restart_marker_blocks": 1, "subsampling": 0}),
        ("WEBP", {"lossless": True}),
        ("GIF", {"interlace": True}),
    ],
)
async def test_a_clean_file_from_elsewhere_is_kept_byte_for_byte(
    db: AsyncSession, folder: Path, image_format: str, options: dict[str, Any]
) -> None:
    image = photo() if image_format != "GIF" else photo().convert("P")
    data = encode(image, image_format, **options)
    item = await keep(db, data, folder)
    assert await stored_bytes(db, item) == data
    assert item.sha256 == sha256(data)
    assert (item.width, item.height) == (1000, 500)
    widths = [width for width, _, _ in await variant_files(db, item)]
    assert widths == [480, 960]


# --- what is not clean is re-encoded, with the flag as without it -------------------


NOT_CLEAN: dict[str, tuple[Callable[[], bytes], tuple[int, int]]] = {
    "jpeg with exif": (lambda: encode(photo(), "JPEG", exif=camera_exif()), (1000, 500)),
    "jpeg with exif orientation": (
        lambda: encode(photo(), "JPEG", exif=camera_exif(orientation=6)),
        (500, 1000),
    ),
    "jpeg with xmp": (lambda: encode(photo(), "JPEG", xmp=XMP), (1000, 500)),
    "jpeg with an icc profile": (lambda: encode(photo(), "JPEG", icc_profile=ICC), (1000, 500)),
    "jpeg with a comment": (lambda: encode(photo(), "JPEG", comment=b"secret"), (1000, 500)),
    "jpeg with an adobe marker": (lambda: encode(photo(mode="CMYK"), "JPEG"), (1000, 500)),
    "jpeg with an app0 that is not jfif": (
        lambda: with_jpeg_segment(encode(photo(), "JPEG"), jpeg_segment(0xE0, b"JFXX\0secret")),
        (1000, 500),
    ),
    "jpeg with bytes after eoi": (lambda: encode(photo(), "JPEG") + b"secret", (1000, 500)),
    "jpeg with extra pictures (mpo)": (
        lambda: encode(photo(), "MPO", save_all=True, append_images=[photo((300, 200))]),
        (1000, 500),
    ),
    "png with exif orientation (eXIf)": (
        lambda: encode(photo(), "PNG", exif=camera_exif(orientation=6)),
        (500, 1000),
    ),
    "png with tEXt": (lambda: png_with_text("tEXt"), (1000, 500)),
    "png with zTXt": (lambda: png_with_text("zTXt"), (1000, 500)),
    "png with iTXt": (lambda: png_with_text("iTXt"), (1000, 500)),
    "png with an icc profile": (lambda: encode(photo(), "PNG", icc_profile=ICC), (1000, 500)),
    "png with a resolution": (lambda: encode(photo(), "PNG", dpi=(300, 300)), (1000, 500)),
    "png with an unknown chunk": (
        lambda: with_png_chunk(encode(photo(), "PNG"), png_chunk(b"quIr", b"secret")),
        (1000, 500),
    ),
    "png with bytes after iend": (lambda: encode(photo(), "PNG") + b"secret", (1000, 500)),
    "png with a wrong crc": (
        lambda: encode(photo(), "PNG").replace(b"IEND\xae", b"IEND\xaf"),
        (1000, 500),
    ),
    "webp with exif orientation": (
        lambda: encode(photo(), "WEBP", exif=camera_exif(orientation=6)),
        (500, 1000),
    ),
    "webp with an icc profile": (lambda: encode(photo(), "WEBP", icc_profile=ICC), (1000, 500)),
    "webp with xmp": (lambda: encode(photo(), "WEBP", xmp=XMP), (1000, 500)),
    "webp with bytes after riff": (lambda: encode(photo(), "WEBP") + b"secret", (1000, 500)),
    "gif with a comment": (
        lambda: encode(photo().convert("P"), "GIF", comment=b"secret"),
        (1000, 500),
    ),
    "gif with xmp": (
        lambda: with_gif_extension(encode(photo().convert("P"), "GIF"), gif_xmp()),
        (1000, 500),
    ),
    "gif with bytes after the trailer": (
        lambda: encode(photo().convert("P"), "GIF") + b"secret",
        (1000, 500),
    ),
    "animated gif with a comment": (
        lambda: animated("GIF", loop=0, comment=b"secret"),
        (120, 80),
    ),
    "animated webp with exif": (lambda: animated("WEBP", loop=0, exif=camera_exif()), (120, 80)),
    "animated png with text": (
        lambda: with_png_chunk(animated("PNG", loop=0), png_chunk(b"tEXt", b"Comment\0secret")),
        (120, 80),
    ),
}


@pytest.mark.parametrize(("make", "size"), NOT_CLEAN.values(), ids=NOT_CLEAN)
async def test_a_file_that_is_not_clean_is_re_encoded_even_with_the_flag(
    db: AsyncSession, folder: Path, make: Callable[[], bytes], size: tuple[int, int]
) -> None:
    data = make()
    content_type = images._ACCEPTED[Image.open(io.BytesIO(data)).format or ""]
    assert not clean.is_clean(data, content_type)
    item = await keep(db, data, folder)
    kept = await stored_bytes(db, item)
    assert kept != data and item.sha256 == sha256(kept)
    assert has_no_secrets(kept)
    image = assert_bare(kept, content_type.removeprefix("image/").upper())
    assert (item.width, item.height) == image.size == size
    # Exactly what storing it without the flag makes, and clean from then on.
    assert item.sha256 == images.prepare(data, images.MAX_PIXELS).original.sha256
    assert clean.is_clean(kept, content_type)


async def test_exif_orientation_turns_the_picture_with_the_flag(
    db: AsyncSession, folder: Path
) -> None:
    item = await keep(db, encode(halves(), "JPEG", exif=camera_exif(orientation=6)), folder)
    image = Image.open(io.BytesIO(await stored_bytes(db, item))).convert("RGB")
    assert image.size == (100, 200)
    # The left (red) half is now on top.
    assert image.getpixel((50, 20))[0] > 200 and image.getpixel((50, 180))[2] > 200


# --- what is refused is refused with the flag too ----------------------------------

REFUSED: dict[str, tuple[Callable[[], bytes], dict[str, Any], str]] = {
    "truncated png": (lambda: truncated(encode(noise(), "PNG")), {}, "damaged"),
    "truncated jpeg": (lambda: truncated(encode(noise(), "JPEG")), {}, "damaged"),
    "truncated webp": (lambda: truncated(encode(noise(), "WEBP")), {}, "damaged"),
    "truncated gif": (lambda: truncated(encode(noise().convert("P"), "GIF")), {}, "damaged"),
    "truncated animated webp": (lambda: truncated(animated("WEBP")), {}, "damaged"),
    "a pixel bomb beyond Pillow's limit": (
        lambda: png_declaring(100_000, 100_000),
        {},
        "too large in pixels",
    ),
    "a pixel bomb beyond ours": (
        lambda: encode(Image.new("L", (3000, 3000)), "PNG"),
        {"max_pixels": 1_000_000},
        "(3000x3000, 9 megapixels; the limit is 1 megapixels)",
    ),
    "html": (lambda: b"<!doctype html><script>alert(1)</script>", {}, "not an image"),
    "bmp": (lambda: encode(halves(), "BMP"), {}, "not an image"),
}


@pytest.mark.parametrize(("make", "fields", "message"), REFUSED.values(), ids=REFUSED)
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
async def test_refused_files_are_refused_the_same_with_the_flag(
    db: AsyncSession, folder: Path, make: Callable[[], bytes], fields: dict[str, Any], message: str
) -> None:
    data = make()
    refusals = []
    for keep_clean in (False, True):
        with pytest.raises(MediaError) as refusal:
            await store(
                db,
                data,
                filename="a.png",
                owner=None,
                max_bytes=LIMIT,
                folder=folder,
                keep_clean=keep_clean,
                **fields,
            )
        refusals.append((str(refusal.value), refusal.value.status))
    assert refusals[0] == refusals[1]
    assert message in refusals[0][0]
    assert files(folder) == []


async def test_a_damaged_file_with_a_clean_structure_is_still_refused(
    db: AsyncSession, folder: Path
) -> None:
    data = png_with_damaged_pixels()
    assert clean.is_clean(data, "image/png")
    with pytest.raises(MediaError, match="damaged") as refusal:
        await keep(db, data, folder)
    assert refusal.value.status == 422
    assert files(folder) == []


def test_a_clean_jpeg_with_a_damaged_scan_is_judged_as_without_the_flag() -> None:
    # libjpeg fills what it cannot read in grey and warns, Pillow accepts that: the flag
    # changes nothing about whether such a file is accepted.
    data = jpeg_with_damaged_scan()
    assert clean.is_clean(data, "image/jpeg")
    plain = images.prepare(data, images.MAX_PIXELS)
    kept = images.prepare(data, images.MAX_PIXELS, True)
    assert kept.original.data == data
    assert [v.width for v in plain.variants] == [v.width for v in kept.variants]


async def test_a_long_animation_is_refused_with_the_flag(
    db: AsyncSession, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = images.prepare(animation("GIF"), images.MAX_PIXELS).original.data
    assert clean.is_clean(data, "image/gif")
    monkeypatch.setattr(images, "MAX_ANIMATION_PIXELS", 3000)
    with pytest.raises(MediaError, match="animation is too large"):
        await keep(db, data, folder)


async def test_the_check_runs_with_the_image_work_off_the_event_loop(
    db: AsyncSession, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = []
    is_clean = clean.is_clean

    def recording(data: bytes, content_type: str) -> bool:
        threads.append(threading.current_thread())
        return is_clean(data, content_type)

    monkeypatch.setattr(images, "is_clean", recording)
    await keep(db, encode(halves(), "PNG"), folder)
    assert threads and threads[0] is not threading.current_thread()


# --- hostile structures: never clean, never anything but MediaError -----------------


def gif_with_a_short_sub_block_first() -> bytes:
    data = encode(noise().convert("P"), "GIF")
    start = data.index(b"\x2c", 13) + 10 + 1  # descriptor, no local table, code size
    assert data[start] == 255
    return data[:start] + b"\x01\x00" + data[start:]


def apng_numbered_from(first: int) -> bytes:
    """An animated PNG whose fcTL and fdAT chunks are numbered from `first`, CRCs right."""
    data = animated("PNG", loop=0)
    chunks, position = [], 8
    while position < len(data):
        (length,) = struct.unpack_from(">I", data, position)
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        if kind in {b"fcTL", b"fdAT"}:
            body = struct.pack(">I", struct.unpack_from(">I", body)[0] + first) + body[4:]
        chunks.append(png_chunk(kind, body))
        position += 12 + length
    return data[:8] + b"".join(chunks)


HOSTILE: dict[str, tuple[str, Callable[[], bytes]]] = {
    "png chunk longer than the file": (
        "image/png",
        lambda: encode(halves(), "PNG")[:8] + struct.pack(">I", 2**32 - 1) + b"IHDR",
    ),
    "png without iend": ("image/png", lambda: encode(halves(), "PNG")[:-12]),
    "png with idat before ihdr": (
        "image/png",
        lambda: b"\x89PNG\r\n\x1a\n" + png_chunk(b"IDAT", b"") + encode(halves(), "PNG")[8:],
    ),
    "png animation numbered wrongly": ("image/png", lambda: apng_numbered_from(1)),
    "jpeg segment of length 0": (
        "image/jpeg",
        lambda: b"\xff\xd8\xff\xdb\x00\x00" + encode(halves(), "JPEG")[2:],
    ),
    "jpeg scan without eoi": ("image/jpeg", lambda: encode(halves(), "JPEG")[:-2]),
    "jpeg with fill bytes": (
        "image/jpeg",
        lambda: encode(halves(), "JPEG").replace(b"\xff\xdb", b"\xff\xff\xdb", 1),
    ),
    "jpeg with two frames": (
        "image/jpeg",
        lambda: with_jpeg_segment(
            encode(halves(), "JPEG"), jpeg_segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
        ),
    ),
    "jpeg with a jfif thumbnail": (
        "image/jpeg",
        lambda: (
            b"\xff\xd8"
            + jpeg_segment(0xE0, b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x01\x01" + b"\xff\0\0")
            + encode(halves(), "JPEG")[20:]
        ),
    ),
    "jpeg with arithmetic coding": (
        "image/jpeg",
        lambda: encode(halves(), "JPEG").replace(b"\xff\xc0", b"\xff\xc9", 1),
    ),
    "jpeg of thousands of empty tables": (
        "image/jpeg",
        lambda: b"\xff\xd8" + b"\xff\xdb\x00\x02" * 5000 + encode(halves(), "JPEG")[2:],
    ),
    "webp riff size too small": (
        "image/webp",
        lambda: (lambda data: data[:4] + struct.pack("<I", 20) + data[8:])(
            encode(halves(), "WEBP")
        ),
    ),
    "webp chunk running past the end": (
        "image/webp",
        lambda: (lambda data: data[:16] + struct.pack("<I", len(data)) + data[20:])(
            encode(halves(), "WEBP")
        ),
    ),
    "webp unknown chunk": (
        "image/webp",
        lambda: (
            lambda data: (
                data[:4]
                + struct.pack("<I", len(data) + 10 - 8)
                + data[8:]
                + b"QUIR\x02\x00\x00\x00ab"
            )
        )(encode(halves(), "WEBP")),
    ),
    "webp vp8x with reserved bits": (
        "image/webp",
        lambda: encode(with_alpha(halves()), "WEBP").replace(
            b"VP8X\x0a\x00\x00\x00\x10", b"VP8X\x0a\x00\x00\x00\x11"
        ),
    ),
    "gif without a trailer": ("image/gif", lambda: encode(halves().convert("P"), "GIF")[:-1]),
    "gif with a short sub-block first": ("image/gif", gif_with_a_short_sub_block_first),
    "gif with a plain text extension": (
        "image/gif",
        lambda: with_gif_extension(
            encode(halves().convert("P"), "GIF"), b"\x21\x01\x0c" + bytes(12) + b"\x02hi\x00"
        ),
    ),
    "gif without an image": (
        "image/gif",
        lambda: encode(halves().convert("P"), "GIF")[:13] + b"\x3b",
    ),
}


@pytest.mark.parametrize(("content_type", "make"), HOSTILE.values(), ids=HOSTILE)
def test_hostile_structures_are_not_clean(content_type: str, make: Callable[[], bytes]) -> None:
    data = make()
    assert not clean.is_clean(data, content_type)
    try:
        prepared = images.prepare(data, images.MAX_PIXELS, True)
    except MediaError:
        return
    # Accepted: then re-encoded, exactly as without the flag.
    assert prepared.original.data != data
    assert prepared.original == images.prepare(data, images.MAX_PIXELS).original


CLEAN_SAMPLES = {
    "image/png": encode(photo((40, 20)), "PNG"),
    "image/jpeg": images._save(photo((40, 20)), "image/jpeg"),
    "image/webp": encode(with_alpha(photo((40, 20))), "WEBP"),
    "image/gif": animated("GIF", loop=0),
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content_type=st.sampled_from(sorted(CLEAN_SAMPLES)),
    cut=st.integers(min_value=0),
    changes=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
    tail=st.binary(max_size=8),
)
def test_the_walk_answers_any_file_with_yes_or_no(
    content_type: str, cut: int, changes: list[tuple[int, int]], tail: bytes
) -> None:
    sample = bytearray(CLEAN_SAMPLES[content_type])
    for position, value in changes:
        sample[position % len(sample)] = value
    data = bytes(sample[: len(sample) - cut % len(sample)]) + tail
    assert clean.is_clean(data, content_type) in {True, False}


@given(data=st.binary(max_size=200), content_type=st.sampled_from(sorted(CLEAN_SAMPLES)))
def test_random_bytes_are_never_clean(data: bytes, content_type: str) -> None:
    assert not clean.is_clean(data, content_type)


@pytest.mark.parametrize("content_type", sorted(CLEAN_SAMPLES))
def test_every_cut_of_a_clean_file_is_refused_or_re_encoded(content_type: str) -> None:
    sample = CLEAN_SAMPLES[content_type]
    assert clean.is_clean(sample, content_type)
    for length in range(1, len(sample), max(1, len(sample) // 200)):
        try:
            prepared = images.prepare(sample[:length], images.MAX_PIXELS, True)
        except MediaError:
            continue
        assert prepared.original.data != sample[:length]
