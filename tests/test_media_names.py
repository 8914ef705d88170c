"""Names and types: an upload's name only ever displayed, cleaned, or refused when it
holds a folder path; a stored file's name and the type it is served as."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from components.media import names
from components.media.refusals import MediaError
from components.models import Media
from tests.media_helpers import count, encode, files, halves, upload


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
    assert names.file_name(sha, "image/jpeg") == f"{sha}.jpg"
    assert names.file_name(sha, "image/webp") == f"{sha}.webp"
    assert names.content_type_of(f"{sha}.jpg") == "image/jpeg"
    assert names.content_type_of(f"{sha}.gif") == "image/gif"
    assert names.content_type_of("notes.txt") == "application/octet-stream"
