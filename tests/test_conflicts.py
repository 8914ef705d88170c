"""A request that loses a race for the database runs again; one that cannot be served
is a 503 with Retry-After. Never a 500, never half a write, never a write twice."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from components.comments import intake
from components.media import library
from components.models import Media
from tests.conftest import app_config, post_address, sign_in
from tests.test_comments import SAME_SITE, form, make_post, stored
from tests.test_media_web import png, upload
from web import create_app
from web import database as web_database


def lost_race() -> OperationalError:
    """What SQLite raises when another process held the write lock past the busy timeout."""
    locked = sqlite3.OperationalError("database is locked")
    locked.sqlite_errorcode = 5  # type: ignore[attr-defined]
    return OperationalError("INSERT INTO comments ...", {}, locked)


def losing(real: Any, times: int, error: Exception) -> Any:
    """`real`, made to write and then lose the race `times` times before it may win."""
    calls = {"n": 0}

    async def run(session: AsyncSession, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        result = await real(session, *args, **kwargs)
        await session.flush()  # its rows are written: losing now must undo them
        if calls["n"] <= times:
            raise error
        return result

    run.calls = calls  # type: ignore[attr-defined]
    return run


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real waiting between runs: the tests count runs, not milliseconds."""
    monkeypatch.setattr(web_database, "FIRST_PAUSE_SECONDS", 0.0)


async def comment_losing(
    client: Any, db: AsyncSession, monkeypatch: pytest.MonkeyPatch, times: int, error: Exception
) -> tuple[Any, Any]:
    """Post a comment whose submission writes and then loses `times` times; the
    response, and the submission (which counts its runs)."""
    post = await make_post(db)
    submit = losing(intake.submit, times, error)
    monkeypatch.setattr(intake, "submit", submit)
    response = await client.post(f"{post_address(post)}/comments", form=form(), headers=SAME_SITE)
    return response, submit


async def test_a_comment_that_loses_a_race_is_run_again_and_stored_once(
    open_client: Any, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    response, submit = await comment_losing(open_client, db, monkeypatch, 2, lost_race())
    assert response.status_code == 303
    assert submit.calls["n"] == 3
    [comment] = await stored(db)
    assert response.headers["Location"].endswith(f"#comment-{comment.id}")


async def test_a_request_that_keeps_losing_is_a_503_and_keeps_nothing(
    open_client: Any, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    response, submit = await comment_losing(open_client, db, monkeypatch, 99, lost_race())
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "try again" in await response.get_data(as_text=True)
    assert submit.calls["n"] == web_database.ATTEMPTS
    assert await stored(db) == []


async def test_a_database_error_that_is_not_a_race_is_not_run_again(
    open_client: Any, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    bug = IntegrityError("INSERT", {}, sqlite3.IntegrityError("NOT NULL constraint failed"))
    response, submit = await comment_losing(open_client, db, monkeypatch, 99, bug)
    assert response.status_code == 500
    assert submit.calls["n"] == 1
    assert await stored(db) == []


async def test_an_upload_run_again_reads_its_file_from_the_start(
    client: Any, db: AsyncSession, author: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_in(client, author.email)
    store = losing(library.store, 1, lost_race())
    monkeypatch.setattr(library, "store", store)
    response = await upload(client, png((300, 200)))
    assert response.status_code == 303, await response.get_data(as_text=True)
    assert store.calls["n"] == 2
    assert await db.scalar(select(func.count()).select_from(Media)) == 1
    item = await db.scalar(select(Media))
    served = await client.get(f"/media/{item.sha256}.png")
    assert Image.open(io.BytesIO(await served.get_data())).size == (300, 200)


async def test_an_unreachable_database_is_a_503_page(tmp_path: Path) -> None:
    # Nothing listens on port 9 of the loopback address.
    app = create_app(
        app_config("postgresql+asyncpg://quire@127.0.0.1:9/none", tmp_path / "instance")
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.get("/")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert "try again" in await response.get_data(as_text=True)
        api = await client.get("/api/posts")
        assert api.status_code == 503
        assert api.headers["Retry-After"] == "5"
