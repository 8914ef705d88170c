"""The media library: uploaded images checked, cleaned, resized, stored and found again.

An upload is never trusted. Its type is read from its content by Pillow (the name and
the browser's claim are ignored), its pixel count is checked before anything is
decoded, and it is re-encoded so that no metadata leaves with it: no EXIF with the
place a photo was taken, no XMP, no ICC profile, no comments, no text chunks.

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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from sqlalchemy import ColumnElement, Insert, or_, select, union_all
from sqlalchemy import delete as delete_rows
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, selectinload

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


def _prepare(data: bytes, max_pixels: int) -> _Prepared:
    """Verify, clean and re-encode an upload, and make its variants: all the CPU work."""
    try:
        return _prepare_image(data, max_pixels)
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


def _prepare_image(data: bytes, max_pixels: int) -> _Prepared:
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
        if image.format != "MPO" and getattr(image, "is_animated", False):
            return _Prepared(_reencode_animation(image, content_type), [])
        image.load()
        still = _bare(_upright(image))
        original = _Encoded.of(_save(still, content_type), content_type, still.size)
        return _Prepared(original, _variants(still))


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


def _reencode_animation(image: Image.Image, content_type: str) -> _Encoded:
    """Every frame kept with its timing and the loop count; nothing else.

    EXIF orientation is not applied to animations (GIF has none, and Pillow turns one
    frame only), and no variants are made: a still variant in `srcset` would stop the
    animation, and resizing every frame costs more than it saves.
    """
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
    # Without a loop count a GIF plays once; adding one would change it.
    loop = {"loop": image.info["loop"]} if "loop" in image.info else {}
    data = _save(image, content_type, save_all=True, duration=durations, **loop)
    return _Encoded.of(data, content_type, image.size)


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
) -> Media:
    """Add an uploaded image to the library, or return the one already holding it.

    Raises MediaError before anything is stored when the upload is refused. The rows
    are flushed, not committed: the caller commits. The files are written to `folder`
    at once; should the caller roll back, `materialise` never serves them, because it
    asks the database first.
    """
    _refuse_paths(filename)
    if not data:
        raise MediaError("The file is empty.")
    if len(data) > max_bytes:
        raise MediaError(
            f"The file is {_size(len(data), up=True)}; the limit is {_size(max_bytes)}.",
            status=413,
        )
    alt = _clean_alt_text(alt_text)
    # Decoding and encoding take whole seconds for a large photo: not on the event loop.
    prepared = await asyncio.to_thread(_prepare, data, max_pixels)
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
