"""The whole library in an export, and back: every file under `assets/media/` by its
library name, byte for byte, and what the library knows of it in `_data/quire_media.yml`.

Every file goes out, not only those posts show: the logo and the icon, authors'
avatars, and images uploaded and not (or no longer) used. The manifest gives each
file's name as uploaded, its alt text, its owner (by email) and when it came; the
settings and people files name the logo, the icon and each avatar by the same file
name (components/site_backup).

A restore stores each file as an upload is stored (components/media/library.store):
its type read from its content, every pixel decoded, so a damaged or disguised file is
refused, with its name and why, and nothing of it is kept. A file Quire wrote is clean,
so it keeps its bytes and its hash. One already in the library is found, not added twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from components import yaml_limits
from components.media.library import store, stored_hash
from components.media.names import MAX_ALT_TEXT_LENGTH, file_name
from components.models import Media, User

MEDIA_FOLDER = PurePosixPath("assets/media")
MANIFEST = Path("_data") / "quire_media.yml"


class BackupError(ValueError):
    """A manifest that cannot be read; str() says what and where."""


@dataclass(frozen=True)
class Entry:
    """One file of an export's library."""

    file: str  # its name under assets/media/
    filename: str = ""  # as it was uploaded
    alt: str = ""
    owner: str = ""  # an email, or "" for none
    created: datetime | None = None


# --- out ------------------------------------------------------------------------------


async def library(session: AsyncSession) -> Sequence[Media]:
    """Every file of the library with its owner, oldest first (without their bytes)."""
    query = select(Media).options(joinedload(Media.owner)).order_by(Media.id)
    return (await session.scalars(query)).all()


async def data_of(session: AsyncSession, media: Media) -> bytes:
    return await session.scalar(select(Media.data).where(Media.id == media.id)) or b""


def manifest(items: Sequence[Media]) -> list[dict[str, Any]]:
    """The manifest's entries, by file name, so that two exports of one library match."""
    entries = []
    for item in items:
        entry: dict[str, Any] = {
            "file": file_name(item.sha256, item.content_type),
            "filename": item.filename,
            "alt": item.alt_text,
        }
        if item.owner is not None:
            entry["owner"] = item.owner.email
        entry["created"] = item.created_at.astimezone(UTC).isoformat()
        entries.append(entry)
    return sorted(entries, key=lambda entry: entry["file"])


# --- in -------------------------------------------------------------------------------


def parse(text: str) -> list[Entry]:
    """The files a manifest lists; BackupError names the first entry it cannot take."""
    try:
        document = yaml_limits.load_data(text) or []
    except yaml_limits.NotYaml as error:
        raise BackupError(str(error)) from None
    if not isinstance(document, list):
        raise BackupError("must be a list of files")
    return [_entry(raw, number) for number, raw in enumerate(document, start=1)]


def _entry(raw: Any, number: int) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("file"), str):
        raise BackupError(f"entry {number}: needs at least the file's name ('file:')")
    name = raw["file"]
    # A plain name in the media folder: never a path that leads out of it.
    if not name or name.startswith(".") or "/" in name or "\\" in name or "\0" in name:
        raise BackupError(f"entry {number}: {name[:80]!r} is not a file name")
    created = raw.get("created")
    try:
        moment = (
            created
            if isinstance(created, datetime) or created is None
            else datetime.fromisoformat(str(created))
        )
    except ValueError:
        raise BackupError(f"entry {number}: 'created' {str(created)[:40]!r} is no date") from None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return Entry(
        file=name,
        filename=str(raw.get("filename") or ""),
        alt=str(raw.get("alt") or "")[:MAX_ALT_TEXT_LENGTH],
        owner=str(raw.get("owner") or ""),
        created=moment,
    )


@dataclass(frozen=True)
class Restored:
    media_id: int | None  # None on a dry run, for a file the library lacks
    added: bool


async def restore(
    session: AsyncSession,
    entry: Entry,
    data: bytes,
    *,
    max_bytes: int,
    folder: Path,
    dry_run: bool,
    planned: set[str],
) -> Restored:
    """The library's copy of one file, stored if it has none; MediaError (storing
    nothing) for a file that is not an image the library takes. `planned` holds the
    hashes a dry run would add, so that each is counted once."""
    found = await _by_hash(session, hashlib.sha256(data).hexdigest())
    if found is not None:
        return Restored(found, added=False)
    # A file that is not clean is stored cleaned: found again by its cleaned copy's hash.
    hashed = await stored_hash(data, max_bytes=max_bytes, keep_clean=True)
    if (found := await _by_hash(session, hashed)) is not None:
        return Restored(found, added=False)
    if dry_run:
        added = hashed not in planned
        planned.add(hashed)
        return Restored(None, added)
    owner = None
    if entry.owner:
        owner = await session.scalar(select(User).where(User.email == entry.owner.lower()))
    media = await store(
        session,
        data,
        filename=entry.filename or entry.file,
        owner=owner,
        max_bytes=max_bytes,
        folder=folder,
        alt_text=entry.alt,
        keep_clean=True,
    )
    if entry.created is not None:
        media.created_at = entry.created
        await session.flush()
    return Restored(media.id, added=True)


async def _by_hash(session: AsyncSession, sha256: str) -> int | None:
    return await session.scalar(select(Media.id).where(Media.sha256 == sha256))
