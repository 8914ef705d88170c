"""The library in the database: an upload stored (checked, cleaned, its files written),
the library listed and searched, and an image found, looked up in posts, or deleted."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import ColumnElement, Insert, inspect, or_, select
from sqlalchemy import delete as delete_rows
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, selectinload

from components.markdown import Picture
from components.media.files import remove_files, write_files
from components.media.images import MAX_PIXELS, Prepared, prepare
from components.media.names import EXTENSIONS, clean_alt_text, display_name, file_name, refuse_paths
from components.media.refusals import MediaError, size
from components.models import Media, MediaVariant, Post, User

# --- storing -------------------------------------------------------------------


def _insert_new(session: AsyncSession, model: type[Media | MediaVariant]) -> Insert:
    """An INSERT that skips rows whose hash is already stored, on either database.

    Two uploads of the same picture at once must not fail on the unique hash; and two
    different originals (a PNG and a GIF of the same pixels) can give the same variant.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=["sha256"])
    return sqlite.insert(model).on_conflict_do_nothing(index_elements=["sha256"])


async def _one(session: AsyncSession, condition: ColumnElement[bool]) -> Media | None:
    query = select(Media).where(condition).options(selectinload(Media.variants))
    return await session.scalar(query)


async def _checked(data: bytes, max_bytes: int, max_pixels: int, keep_clean: bool) -> Prepared:
    if not data:
        raise MediaError("The file is empty.")
    if len(data) > max_bytes:
        raise MediaError(
            f"The file is {size(len(data), up=True)}; the limit is {size(max_bytes)}.",
            status=413,
        )
    # Decoding and encoding take whole seconds for a large photo: not on the event loop.
    return await asyncio.to_thread(prepare, data, max_pixels, keep_clean)


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
    refuse_paths(filename)
    alt = clean_alt_text(alt_text)
    prepared = await _checked(data, max_bytes, max_pixels, keep_clean)
    original = prepared.original
    # An owner added in this transaction has no id until it is flushed.
    if owner is not None and inspect(owner).pending:
        await session.flush()
    media_id = await session.scalar(
        _insert_new(session, Media)
        .values(
            owner_id=owner.id if owner is not None else None,
            filename=display_name(filename, EXTENSIONS[original.content_type]),
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
    await asyncio.to_thread(write_files, folder, [original, *prepared.variants])
    return media


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
    await asyncio.to_thread(remove_files, folder, names)


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
