"""The media library: what an upload becomes, what is refused, and where the files go."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin
from sqlalchemy import func, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession

from components import media
from components.media import MediaError
from components.models import Media, MediaVariant, User

from .conftest import write_post

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


# --- helpers -------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "instance" / "media"


async def make_user(db: AsyncSession, name: str = "Ada") -> User:
    user = User(email=f"{name.lower()}@example.com", name=name, password_hash="x")
    db.add(user)
    await db.flush()
    return user


async def upload(db: AsyncSession, data: bytes, folder: Path, **fields: Any) -> Media:
    fields.setdefault("filename", "picture.png")
    fields.setdefault("owner", None)
    stored = await media.store(db, data, max_bytes=LIMIT, folder=folder, **fields)
    await db.commit()
    return stored


async def stored_bytes(db: AsyncSession, item: Media) -> bytes:
    return await db.scalar(select(Media.data).where(Media.id == item.id))


async def count(db: AsyncSession, model: type[Media | MediaVariant]) -> int:
    return await db.scalar(select(func.count()).select_from(model))


def files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def strongest(pixel: tuple[int, ...]) -> str:
    """The channel that dominates a pixel: lossy formats shift colours a little."""
    return ("red", "green", "blue")[max(range(3), key=lambda channel: pixel[channel])]


def plant(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


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
        ((2000, 1000), [(480, 240), (960, 480), (1600, 800)]),
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


async def test_the_same_content_twice_is_stored_once(db: AsyncSession, folder: Path) -> None:
    data = encode(halves((1200, 600)), "PNG")
    first = await upload(db, data, folder, filename="first.png")
    ada = await make_user(db)
    second = await upload(db, data, folder, filename="second.png", owner=ada)
    assert second.id == first.id
    assert second.filename == "first.png"
    assert [variant.width for variant in second.variants] == [480, 960]
    assert await count(db, Media) == 1
    assert await count(db, MediaVariant) == 2


async def test_the_image_work_runs_off_the_event_loop(
    db: AsyncSession, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = []
    prepare = media._prepare

    def recording(*args: Any) -> Any:
        threads.append(threading.current_thread())
        return prepare(*args)

    monkeypatch.setattr(media, "_prepare", recording)
    await upload(db, encode(halves(), "PNG"), folder)
    assert threads and threads[0] is not threading.current_thread()


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
        await media.store(db, make(), folder=folder, **fields)
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
        await media.store(
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
        await media.store(
            db, b"x" * 10_000_001, filename="a.png", owner=None, max_bytes=LIMIT, folder=folder
        )


async def test_a_long_animation_is_refused(
    db: AsyncSession, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Three frames of 40x30: the third goes over.
    monkeypatch.setattr(media, "MAX_ANIMATION_PIXELS", 3000)
    with pytest.raises(MediaError, match="animation is too large") as refusal:
        await media.store(
            db, animation("GIF"), filename="a.gif", owner=None, max_bytes=LIMIT, folder=folder
        )
    assert refusal.value.status == 413
    assert await count(db, Media) == 0
    assert files(folder) == []


# --- names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("bad\x00na\x1bme\n.png", "badname.png"),
        ("\u202egnp.exe", "gnp.exe"),
        ("  café.png  ", "café.png"),
        ("", "image.png"),
        ("...", "image.png"),
        ("a" * 300 + ".png", "a" * 251 + ".png"),
    ],
)
async def test_the_file_name_is_only_a_cleaned_display_name(
    db: AsyncSession, folder: Path, sent: str, shown: str
) -> None:
    item = await upload(db, encode(halves(), "PNG"), folder, filename=sent)
    assert item.filename == shown
    assert files(folder) == [f"{item.sha256}.png"]
    assert not (folder.parent / "etc").exists()


@pytest.mark.parametrize(
    "sent", ["../../etc/passwd.png", "C:\\Users\\me\\holiday.png", "a/b.png", "uploads/", ".."]
)
async def test_a_file_name_with_a_folder_path_is_refused(
    db: AsyncSession, folder: Path, sent: str
) -> None:
    with pytest.raises(MediaError, match="may not include a folder path") as refusal:
        await upload(db, encode(halves(), "PNG"), folder, filename=sent)
    assert refusal.value.status == 422
    await db.rollback()
    assert await count(db, Media) == 0
    assert files(folder) == []


def test_names_and_types() -> None:
    sha = "ab" * 32
    assert media.file_name(sha, "image/jpeg") == f"{sha}.jpg"
    assert media.file_name(sha, "image/webp") == f"{sha}.webp"
    assert media.content_type_of(f"{sha}.jpg") == "image/jpeg"
    assert media.content_type_of(f"{sha}.gif") == "image/gif"
    assert media.content_type_of("notes.txt") == "application/octet-stream"


# --- serving from another instance -------------------------------------------------


async def test_materialise_writes_a_missing_file_from_the_database(
    db: AsyncSession, folder: Path, tmp_path: Path
) -> None:
    item = await upload(db, encode(halves((1000, 500)), "PNG"), folder)
    other = tmp_path / "other-instance" / "media"
    for sha, kind, model in [
        (item.sha256, "png", Media),
        (item.variants[0].sha256, "webp", MediaVariant),
    ]:
        name = f"{sha}.{kind}"
        path = await media.materialise(db, name, other)
        assert path == other / name
        stored = await db.scalar(select(model.data).where(model.sha256 == sha))
        assert path.read_bytes() == stored
        # A second request finds the file in place.
        assert await media.materialise(db, name, other) == path
    assert files(other) == sorted([f"{item.sha256}.png", f"{item.variants[0].sha256}.webp"])


async def test_materialise_accepts_only_stored_names(db: AsyncSession, folder: Path) -> None:
    item = await upload(db, encode(halves(), "PNG"), folder)
    sha = item.sha256
    for name in [
        "../x.png",
        f"../{sha}.png",
        "abc.png",
        f"{sha.upper()}.png",
        f"{sha}.PNG",
        f"{sha}.jpg",  # a PNG is not served under another type
        f"{sha}.svg",
        f"{sha}.png\n",
        f"{sha}.png/",
        f"{sha[:-1]}.png",
        f"{sha}0.png",
        "",
    ]:
        assert await media.materialise(db, name, folder) is None, name


async def test_materialise_forgets_a_file_deleted_elsewhere(db: AsyncSession, folder: Path) -> None:
    stale = f"{'0' * 64}.png"
    plant(folder / stale, b"left over")
    assert await media.materialise(db, stale, folder) is None
    assert files(folder) == []


# --- the library ---------------------------------------------------------------------


async def test_library_filters_by_owner_and_query_without_the_bytes(
    db: AsyncSession, folder: Path, statements: list[str]
) -> None:
    ada, bob = await make_user(db, "Ada"), await make_user(db, "Bob")
    sunset = await upload(
        db,
        encode(halves((1000, 500)), "PNG"),
        folder,
        filename="Sunset.png",
        owner=ada,
        alt_text="Beach at dusk",
    )
    chart = await upload(db, encode(halves((30, 10)), "PNG"), folder, filename="c_1.png", owner=ada)
    cat = await upload(
        db,
        encode(halves((40, 10)), "GIF"),
        folder,
        filename="cat.gif",
        owner=bob,
        alt_text="A sleepy 100% cat",
    )
    db.expunge_all()
    statements.clear()

    async def ids(**options: Any) -> list[int]:
        found = await media.library(db, **options)
        for item in found:
            _ = [variant.width for variant in item.variants]
            with pytest.raises(InvalidRequestError):
                _ = item.data
        return [item.id for item in found]

    assert await ids(owner=None) == [cat.id, chart.id, sunset.id]
    assert await ids(owner=ada) == [chart.id, sunset.id]
    assert await ids(owner=bob) == [cat.id]
    assert await ids(owner=None, query="SUNSET") == [sunset.id]
    assert await ids(owner=None, query=" dusk ") == [sunset.id]
    assert await ids(owner=ada, query="cat") == []
    assert await ids(owner=None, query="100%") == [cat.id]
    assert await ids(owner=None, query="%") == [cat.id]
    assert await ids(owner=None, query="_") == [chart.id]
    assert await ids(owner=None, limit=1) == [cat.id]
    assert statements
    assert not [sql for sql in statements if "media.data" in sql or "media_variants.data" in sql]


async def test_by_id(db: AsyncSession, folder: Path) -> None:
    item = await upload(db, encode(halves((1000, 500)), "PNG"), folder)
    db.expunge_all()
    found = await media.by_id(db, item.id)
    assert found is not None and found.sha256 == item.sha256
    assert [variant.width for variant in found.variants] == [480, 960]
    assert await media.by_id(db, item.id + 1) is None


# --- use and deletion ------------------------------------------------------------------


async def test_media_used_by_a_post_cannot_be_deleted(db: AsyncSession, folder: Path) -> None:
    item = await upload(db, encode(halves((1000, 500)), "PNG"), folder)
    await write_post(db, title="Unrelated", body="No pictures here.")
    await write_post(db, title="Title B", body=f"![x](/media/{item.sha256}.png)")
    await write_post(db, title="Title A", body=f"<img src=/media/{item.variants[1].sha256}.webp>")
    await db.commit()
    db.expunge_all()
    users = await media.used_by(db, item)
    assert [post.title for post in users] == ["Title A", "Title B"]
    assert users[0].slug == "title-a"
    with pytest.raises(InvalidRequestError):
        _ = users[0].body
    with pytest.raises(MediaError, match=r"^Still used by: “Title A”, “Title B”\.$") as refusal:
        await media.delete(db, item, folder)
    assert refusal.value.status == 422
    await db.commit()
    assert await count(db, Media) == 1
    assert await count(db, MediaVariant) == 2
    assert len(files(folder)) == 3


async def test_unused_media_is_deleted_with_its_variants_and_files(
    db: AsyncSession, folder: Path
) -> None:
    kept = await upload(db, encode(halves((600, 300)), "PNG"), folder, filename="kept.png")
    item = await upload(db, encode(halves((1000, 500)), "JPEG"), folder, filename="gone.jpg")
    await write_post(db, title="Other", body=f"![x](/media/{kept.sha256}.png)")
    await db.commit()
    assert await media.used_by(db, item) == []
    await media.delete(db, item, folder)
    await db.commit()
    assert await count(db, Media) == 1
    assert await count(db, MediaVariant) == 1
    assert files(folder) == sorted([f"{kept.sha256}.png", f"{kept.variants[0].sha256}.webp"])
    assert await media.materialise(db, f"{item.sha256}.jpg", folder) is None
