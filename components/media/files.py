"""The files on this instance's disk: each stored file and variant, named by its hash.

The database keeps the bytes and is the source of truth, because a PaaS disk is
ephemeral and several app instances serve the same library. Each instance keeps a
copy of the files in its `instance/media` folder, named by content hash only, and
fills in what it lacks from the database (`materialise`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from components.media.images import Encoded
from components.media.names import EXTENSIONS, file_name
from components.models import Media, MediaVariant

# A stored file's name: its content hash and the extension of its verified type.
_FILE_NAME = re.compile(r"(?P<sha256>[0-9a-f]{64})\.(?P<extension>png|jpg|webp|gif)")


def folder_in(instance: Path) -> Path:
    """Where an instance keeps its copies of the library's files."""
    return instance / "media"


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


def write_files(folder: Path, files: Iterable[Encoded]) -> None:
    for encoded in files:
        _write_atomically(folder, file_name(encoded.sha256, encoded.content_type), encoded.data)


def remove_files(folder: Path, names: Iterable[str]) -> None:
    for name in names:
        (folder / name).unlink(missing_ok=True)


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
        await asyncio.to_thread(remove_files, folder, [name])
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
