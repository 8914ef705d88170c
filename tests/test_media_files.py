"""The files on disk: what another instance lacks is written from the database, only
stored names are served, and a file deleted elsewhere is forgotten (`materialise`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components.media.files import materialise
from components.models import Media, MediaVariant
from tests.media_helpers import encode, files, halves, upload


def plant(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


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
        path = await materialise(db, name, other)
        assert path == other / name
        stored = await db.scalar(select(model.data).where(model.sha256 == sha))
        assert path.read_bytes() == stored
        # A second request finds the file in place.
        assert await materialise(db, name, other) == path
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
        assert await materialise(db, name, folder) is None, name


async def test_materialise_forgets_a_file_deleted_elsewhere(db: AsyncSession, folder: Path) -> None:
    stale = f"{'0' * 64}.png"
    plant(folder / stale, b"left over")
    assert await materialise(db, stale, folder) is None
    assert files(folder) == []
