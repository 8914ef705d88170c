"""Helpers for the media tests: images made in memory, an upload stored, and what
the library and its folder then hold."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageCms
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.media.library import store
from components.models import Media, MediaVariant

LIMIT = 10_000_000
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>Secret place</rdf:RDF></x:xmpmeta>'
METADATA_KEYS = ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment")


# --- images made in memory ---------------------------------------------------


def encode(image: Image.Image, image_format: str, **options: Any) -> bytes:
    output = io.BytesIO()
    image.save(output, image_format, **options)
    return output.getvalue()


def halves(size: tuple[int, int] = (200, 100)) -> Image.Image:
    """Red on the left, blue on the right: where each ends up shows how it was turned."""
    image = Image.new("RGB", size, (255, 0, 0))
    image.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    return image


def camera_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Quire Camera"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    return exif


def png_declaring(width: int, height: int) -> bytes:
    """A valid PNG header declaring a huge image, followed by a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * (width + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def noise(size: tuple[int, int] = (300, 200)) -> Image.Image:
    """Pixels that do not compress, so that cutting the file cuts the picture."""
    generator = random.Random(7)
    return Image.frombytes("RGB", size, generator.randbytes(size[0] * size[1] * 3))


def animation(image_format: str, **options: Any) -> bytes:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "lime", "blue")]
    return encode(
        frames[0],
        image_format,
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300],
        loop=0,
        **options,
    )


# --- storing and looking ------------------------------------------------------


async def upload(db: AsyncSession, data: bytes, folder: Path, **fields: Any) -> Media:
    fields.setdefault("filename", "picture.png")
    fields.setdefault("owner", None)
    stored = await store(db, data, max_bytes=LIMIT, folder=folder, **fields)
    await db.commit()
    return stored


async def count(db: AsyncSession, model: type[Media | MediaVariant]) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def stored_bytes(db: AsyncSession, item: Media) -> bytes:
    """The bytes the library holds for `item` now."""
    return await db.scalar(select(Media.data).where(Media.id == item.id))


def files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def assert_bare(data: bytes, image_format: str) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == image_format
    assert not image.getexif()
    for key in METADATA_KEYS:
        assert key not in image.info
    if image_format == "PNG":
        assert image.text == {}
    return image
