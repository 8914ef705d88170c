"""The library: the same content stored once and its image work off the event loop;
listing and finding without the bytes; what a post uses, and deleting what none does."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession

from components.media import images, library
from components.media.files import materialise
from components.media.refusals import MediaError
from components.models import Media, MediaVariant, User
from tests.conftest import StatementLog, write_post
from tests.media_helpers import count, encode, files, halves, upload


async def make_user(db: AsyncSession, name: str = "Ada") -> User:
    user = User(
        email=f"{name.lower()}@example.com", name=name, slug=name.lower(), password_hash="x"
    )
    db.add(user)
    await db.flush()
    return user


# --- storing -----------------------------------------------------------------------


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
    prepare = images.prepare

    def recording(*args: Any) -> Any:
        threads.append(threading.current_thread())
        return prepare(*args)

    monkeypatch.setattr(library, "prepare", recording)
    await upload(db, encode(halves(), "PNG"), folder)
    assert threads and threads[0] is not threading.current_thread()


# --- the library ---------------------------------------------------------------------


async def test_library_filters_by_owner_and_query_without_the_bytes(
    db: AsyncSession, folder: Path, statements: StatementLog
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
        found = await library.library(db, **options)
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
    found = await library.by_id(db, item.id)
    assert found is not None and found.sha256 == item.sha256
    assert [variant.width for variant in found.variants] == [480, 960]
    assert await library.by_id(db, item.id + 1) is None


# --- use and deletion ------------------------------------------------------------------


async def test_media_used_by_a_post_cannot_be_deleted(db: AsyncSession, folder: Path) -> None:
    item = await upload(db, encode(halves((1000, 500)), "PNG"), folder)
    await write_post(db, title="Unrelated", body="No pictures here.")
    await write_post(db, title="Title B", body=f"![x](/media/{item.sha256}.png)")
    await write_post(db, title="Title A", body=f"<img src=/media/{item.variants[1].sha256}.webp>")
    await db.commit()
    db.expunge_all()
    users = await library.used_by(db, item)
    assert [post.title for post in users] == ["Title A", "Title B"]
    assert users[0].slug == "title-a"
    with pytest.raises(InvalidRequestError):
        _ = users[0].body
    with pytest.raises(MediaError, match=r"^Still used by: “Title A”, “Title B”\.$") as refusal:
        await library.delete(db, item, folder)
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
    assert await library.used_by(db, item) == []
    await library.delete(db, item, folder)
    await db.commit()
    assert await count(db, Media) == 1
    assert await count(db, MediaVariant) == 1
    assert files(folder) == sorted([f"{kept.sha256}.png", f"{kept.variants[0].sha256}.webp"])
    assert await materialise(db, f"{item.sha256}.jpg", folder) is None
