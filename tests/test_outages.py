"""The database out of reach: pages say so (503, try again), in one log line each, and come
back with it. The outage is made by a relay the test cuts (tests/outage.py), never by
stopping the PostgreSQL server the machine shares."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import Post, PostStatus
from tests.conftest import app_config, post_address, reset_database, session_on, write_post
from tests.outage import relayed
from web import create_app, streams
from web.database import ENGINE
from web.errors import RETRY_AFTER_SECONDS


@pytest.fixture
async def pg_database(pg_url: str) -> str:
    """The PostgreSQL test database, emptied, with one published post."""
    await reset_database(pg_url)
    async with session_on(pg_url) as session:
        await write_post(session, title="Welcome", body="Hello.", status=PostStatus.PUBLISHED)
        await session.commit()
    return pg_url


async def test_kept_pages_answer_503_with_retry_after_while_postgres_is_out(
    pg_database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with session_on(pg_database) as session:
        post = (await session.scalars(select(Post))).one()
    paths = ["/", "/feed.xml", post_address(post)]
    async with relayed(pg_database) as relay:
        app = create_app(app_config(relay.url_for(pg_database), tmp_path / "instance"))
        async with app.test_app() as test_app:
            client = test_app.test_client()
            for path in paths * 2:  # twice: the front door now answers them itself
                assert (await client.get(path)).status_code == 200
            await relay.cut()
            caplog.clear()
            with caplog.at_level(logging.INFO):
                for path in paths:
                    response = await client.get(path)
                    assert response.status_code == 503, path
                    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
                    assert "try again" in await response.get_data(as_text=True)
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            assert [r.getMessage().split(":")[0] for r in errors] == ["database unavailable"] * 3
            assert not any(r.exc_info for r in errors)
            access = [r.getMessage() for r in caplog.records if r.name == "web.access"]
            assert [line.split()[:3] for line in access] == [["GET", p, "503"] for p in paths]
            await relay.restore()
            for path in paths:
                assert (await client.get(path)).status_code == 200


async def test_a_busy_pool_is_busy_not_unreachable(pg_database: str, tmp_path: Path) -> None:
    """Every pooled connection held (a process under load): the probe waits its pool's
    time and says the pool was busy, never that the database is out of reach."""
    app = create_app(
        app_config(
            pg_database,
            tmp_path / "instance",
            QUIRE_DB_POOL_SIZE="2",
            QUIRE_DB_MAX_OVERFLOW="0",
            QUIRE_DB_POOL_TIMEOUT="1",
        )
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        engine = app.extensions[ENGINE]
        held = [await engine.connect() for _ in range(2)]
        try:
            response = await client.get("/healthz")
            assert response.status_code == 503
            body = await response.get_json()
            assert body["database"] == "busy"
            assert body["pool_wait_ms"] >= 1000
        finally:
            for connection in held:
                await connection.close()
        response = await client.get("/healthz")
        assert response.status_code == 200
        body = await response.get_json()
        assert body["database"] == "ok"
        assert body["pool_wait_ms"] < 1000


async def test_a_stream_that_cannot_catch_up_is_a_503_before_any_byte(
    db: AsyncSession, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crowd reconnecting at once exhausts the pool: the catch-up read fails before the
    answer starts, so the browser is told to come back rather than cut after a 200."""
    post = await write_post(
        db, title="Live", body="Text.", status=PostStatus.PUBLISHED, comments_enabled=True
    )
    await db.commit()

    async def exhausted(*_args: object) -> None:
        raise PoolTimeout("QueuePool limit reached")

    monkeypatch.setattr(streams, "catch_up", exhausted)
    app = create_app(app_config(database_url, tmp_path / "instance"))
    async with app.test_app() as test_app:
        response = await test_app.test_client().get(
            f"{post_address(post)}/comments/stream", headers={"Last-Event-ID": "1"}
        )
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert app.extensions[streams.HUB].open_streams == 0
