"""The image work on an upload: what it becomes, what is refused, and that nothing is
written then."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image, PngImagePlugin
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components.media import images
from components.media.library import store
from components.media.refusals import MediaError
from components.models import Media, MediaVariant
from tests.media_helpers import (
    ICC,
    LIMIT,
    METADATA_KEYS,
    XMP,
    animation,
    assert_bare,
    camera_exif,
    count,
    encode,
    files,
    halves,
    noise,
    png_declaring,
    stored_bytes,
    upload,
)

# --- images made in memory ---------------------------------------------------


def png_with_metadata() -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Someone")
    text.add_text("Comment", "compressed secret", zip=True)
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    return encode(halves(), "PNG", exif=camera_exif(), pnginfo=text, icc_profile=ICC)


def jpeg_with_metadata() -> bytes:
    return encode(halves(), "JPEG", exif=camera_exif(), xmp=XMP, comment=b"secret", icc_profile=ICC)


def webp_with_metadata() -> bytes:
    return encode(halves(), "WEBP", exif=camera_exif(), xmp=XMP, icc_profile=ICC)


def gif_with_metadata() -> bytes:
    return encode(halves().convert("P"), "GIF", comment=b"secret")


# --- helpers -------------------------------------------------------------------


def strongest(pixel: tuple[int, ...]) -> str:
    """The channel that dominates a pixel: lossy formats shift colours a little."""
    return ("red", "green", "blue")[max(range(3), key=lambda channel: pixel[channel])]


# --- what an accepted upload becomes ---------------------------------------------


@pytest.mark.parametrize(
    ("make", "image_format", "content_type", "extension"),
    [
        (png_with_metadata, "PNG", "image/png", "png"),
        (jpeg_with_metadata, "JPEG", "image/jpeg", "jpg"),
        (webp_with_metadata, "WEBP", "image/webp", "webp"),
        (gif_with_metadata, "GIF", "image/gif", "gif"),
    ],
)
async def test_each_accepted_type_is_kept_in_its_type_without_metadata(
    db: AsyncSession,
    folder: Path,
    make: Any,
    image_format: str,
    content_type: str,
    extension: str,
) -> None:
    data = make()
    original = Image.open(io.BytesIO(data))
    assert any(key in original.info for key in METADATA_KEYS), "the input carries metadata"
    # Named as something else: the content decides.
    item = await upload(db, data, folder, filename="upload.bin", alt_text="  Two  halves ")
    kept = await stored_bytes(db, item)
    assert item.content_type == content_type
    assert item.sha256 == hashlib.sha256(kept).hexdigest() != hashlib.sha256(data).hexdigest()
    assert (item.size, item.width, item.height) == (len(kept), 200, 100)
    assert item.alt_text == "Two halves"
    assert item.filename == "upload.bin"
    image = assert_bare(kept, image_format)
    assert image.size == (200, 100)
    assert files(folder) == [f"{item.sha256}.{extension}"]
    assert (folder / f"{item.sha256}.{extension}").read_bytes() == kept


async def test_gps_and_camera_exif_are_stripped_from_a_photo(
    db: AsyncSession, folder: Path
) -> None:
    data = jpeg_with_metadata()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    item = await upload(db, data, folder, filename="holiday.jpg")
    kept = await stored_bytes(db, item)
    image = assert_bare(kept, "JPEG")
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Quire Camera" not in kept and b"Secret place" not in kept


async def test_exif_orientation_is_applied(db: AsyncSession, folder: Path) -> None:
    # Orientation 6: the camera was turned, the picture is shown turned 90° clockwise.
    data = encode(halves((200, 100)), "JPEG", exif=camera_exif(orientation=6), quality=95)
    item = await upload(db, data, folder, filename="turned.jpg")
    image = assert_bare(await stored_bytes(db, item), "JPEG").convert("RGB")
    assert (item.width, item.height) == image.size == (100, 200)
    # The left (red) half is now on top.
    assert strongest(image.getpixel((50, 20))) == "red"
    assert strongest(image.getpixel((50, 180))) == "blue"


async def test_a_jpeg_with_extra_pictures_is_kept_as_one_jpeg(
    db: AsyncSession, folder: Path
) -> None:
    first, second = Image.new("RGB", (60, 40), "red"), Image.new("RGB", (60, 40), "blue")
    data = encode(first, "MPO", save_all=True, append_images=[second])
    item = await upload(db, data, folder, filename="depth.jpg")
    image = assert_bare(await stored_bytes(db, item), "JPEG")
    assert item.content_type == "image/jpeg"
    assert getattr(image, "n_frames", 1) == 1


@pytest.mark.parametrize(("image_format", "extension"), [("GIF", "gif"), ("WEBP", "webp")])
async def test_an_animation_keeps_its_frames_and_timing(
    db: AsyncSession, folder: Path, image_format: str, extension: str
) -> None:
    options = {"comment": b"secret"} if image_format == "GIF" else {"exif": camera_exif()}
    item = await upload(db, animation(image_format, **options), folder)
    image = assert_bare(await stored_bytes(db, item), image_format)
    assert image.n_frames == 3
    assert image.info["loop"] == 0
    colours, durations = [], []
    for index in range(3):
        image.seek(index)
        image.load()
        colours.append(strongest(image.convert("RGB").getpixel((5, 5))))
        durations.append(image.info["duration"])
    assert colours == ["red", "green", "blue"]
    assert durations == [100, 200, 300]
    assert item.variants == []
    assert files(folder) == [f"{item.sha256}.{extension}"]


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((2000, 1000), [(480, 240), (960, 480), (1200, 600), (1600, 800)]),
        ((1000, 333), [(480, 160), (960, 320)]),
        ((961, 500), [(480, 250), (960, 499)]),
        ((960, 500), [(480, 250)]),
        ((480, 300), []),
        ((100, 50), []),
    ],
)
async def test_variants_are_made_only_below_the_original_width(
    db: AsyncSession, folder: Path, size: tuple[int, int], expected: list[tuple[int, int]]
) -> None:
    item = await upload(db, encode(halves(size), "PNG"), folder)
    assert [(variant.width, variant.height) for variant in item.variants] == expected
    names = {f"{item.sha256}.png"}
    for variant in item.variants:
        data = await db.scalar(select(MediaVariant.data).where(MediaVariant.id == variant.id))
        image = assert_bare(data, "WEBP")
        assert image.size == (variant.width, variant.height)
        assert variant.content_type == "image/webp"
        assert variant.sha256 == hashlib.sha256(data).hexdigest()
        assert variant.size == len(data)
        assert (folder / f"{variant.sha256}.webp").read_bytes() == data
        names.add(f"{variant.sha256}.webp")
    # Only the stored files: no temporary file is left behind.
    assert files(folder) == sorted(names)


async def test_transparency_survives_in_variants(db: AsyncSession, folder: Path) -> None:
    image = Image.new("RGBA", (1000, 500), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 500, 500))
    item = await upload(db, encode(image, "PNG"), folder)
    data = await db.scalar(select(MediaVariant.data).where(MediaVariant.width == 480))
    small = Image.open(io.BytesIO(data))
    assert small.mode == "RGBA"
    assert small.getpixel((400, 100))[3] == 0
    assert small.getpixel((50, 100))[3] == 255
    assert len(item.variants) == 2


# --- what is refused, and that nothing is written then ---------------------------


def truncated_png() -> bytes:
    data = encode(noise(), "PNG")
    return data[: len(data) // 2]


def corrupt_png() -> bytes:
    data = bytearray(encode(noise(), "PNG"))
    start = data.index(b"IDAT") + 200
    data[start : start + 400] = bytes(400)
    return bytes(data)


def truncated_jpeg() -> bytes:
    data = encode(noise(), "JPEG")
    return data[: len(data) // 2]


REFUSALS = {
    "html named .png": (
        lambda: b"<!doctype html><title>x</title><script>alert(1)</script>",
        {"filename": "cat.png"},
        422,
        "not an image Quire accepts",
    ),
    "svg with a script": (
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        {"filename": "logo.svg"},
        422,
        "not an image Quire accepts",
    ),
    "bmp": (lambda: encode(halves(), "BMP"), {}, 422, "not an image Quire accepts"),
    "tiff": (lambda: encode(halves(), "TIFF"), {}, 422, "not an image Quire accepts"),
    "truncated png": (truncated_png, {}, 422, "damaged"),
    "corrupt png": (corrupt_png, {}, 422, "damaged"),
    "truncated jpeg": (truncated_jpeg, {"filename": "x.jpg"}, 422, "damaged"),
    "empty": (lambda: b"", {}, 422, "The file is empty."),
    "too many bytes": (
        lambda: encode(noise((20, 20)), "PNG"),
        {"max_bytes": 1_000},
        413,
        "; the limit is 1 kB.",
    ),
    "bomb beyond Pillow's own limit": (
        lambda: png_declaring(100_000, 100_000),
        {},
        413,
        "too large in pixels",
    ),
    "bomb beyond ours": (
        lambda: encode(Image.new("L", (3000, 3000)), "PNG"),
        {"max_pixels": 1_000_000},
        413,
        "(3000x3000, 9 megapixels; the limit is 1 megapixels)",
    ),
    "alt text too long": (
        lambda: encode(halves(), "PNG"),
        {"alt_text": "x" * 501},
        422,
        "501 characters",
    ),
}


@pytest.mark.parametrize(("make", "fields", "status", "message"), REFUSALS.values(), ids=REFUSALS)
async def test_refused_uploads_leave_nothing_behind(
    db: AsyncSession,
    folder: Path,
    make: Any,
    fields: dict[str, Any],
    status: int,
    message: str,
) -> None:
    fields = {"filename": "upload.png", "owner": None, "max_bytes": LIMIT, **fields}
    with pytest.raises(MediaError) as refusal:
        await store(db, make(), folder=folder, **fields)
    assert refusal.value.status == status
    assert message in str(refusal.value)
    await db.commit()
    assert await count(db, Media) == 0
    assert await count(db, MediaVariant) == 0
    assert files(folder) == []


@pytest.mark.parametrize(
    "warnings",
    [
        pytest.param(
            "ignored",
            marks=pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
        ),
        pytest.param(
            "errors", marks=pytest.mark.filterwarnings("error::PIL.Image.DecompressionBombWarning")
        ),
    ],
)
async def test_a_bomb_pillow_only_warns_about_is_refused(
    db: AsyncSession, folder: Path, warnings: str
) -> None:
    # 100 megapixels: over Pillow's warning threshold, under its error threshold.
    with pytest.raises(MediaError, match="too large in pixels") as refusal:
        await store(
            db,
            png_declaring(10_000, 10_000),
            filename="a.png",
            owner=None,
            max_bytes=LIMIT,
            folder=folder,
        )
    assert refusal.value.status == 413
    assert await count(db, Media) == 0
    assert files(folder) == []


async def test_a_file_over_the_limit_never_reads_as_the_limit(
    db: AsyncSession, folder: Path
) -> None:
    with pytest.raises(MediaError, match=r"^The file is 10\.1 MB; the limit is 10 MB\.$"):
        await store(
            db, b"x" * 10_000_001, filename="a.png", owner=None, max_bytes=LIMIT, folder=folder
        )


async def test_a_long_animation_is_refused(
    db: AsyncSession, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three frames of 40x30: the third goes over.
    monkeypatch.setattr(images, "MAX_ANIMATION_PIXELS", 3000)
    with pytest.raises(MediaError, match="animation is too large") as refusal:
        await store(
            db, animation("GIF"), filename="a.gif", owner=None, max_bytes=LIMIT, folder=folder
        )
    assert refusal.value.status == 413
    assert await count(db, Media) == 0
    assert files(folder) == []
