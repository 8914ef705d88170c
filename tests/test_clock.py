"""The content clock as its driver-level reader sees it (components/clock.Reader)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from components import clock, migrations
from components.db import make_engine
from components.models import PostStatus, utcnow

from .test_pages import publish


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def reader(engine: AsyncEngine) -> AsyncIterator[clock.Reader]:
    reader = clock.Reader(engine)
    yield reader
    await reader.close()


async def through_the_pool(engine: AsyncEngine) -> clock.Moment:
    async with engine.connect() as connection:
        return await clock.now(connection)


async def test_the_reader_answers_as_the_orm_statement_does(
    engine: AsyncEngine, reader: clock.Reader, db: AsyncSession
) -> None:
    """On a blog never written to, then after each kind of post the clock looks at."""
    blank = await reader.read()
    assert blank == clock.Moment(0, clock.EPOCH) == await through_the_pool(engine)
    await publish(db, "Published")
    await publish(db, "A draft", status=PostStatus.DRAFT, published_at=utcnow())
    await publish(db, "Later", status=PostStatus.SCHEDULED, published_at=utcnow() + timedelta(1))
    written = await reader.read()
    assert written.version > 0
    assert written == await through_the_pool(engine)
    # A scheduled post whose time has come moves the time with no write: here its
    # publication is later than the clock's last write.
    due = utcnow() - timedelta(seconds=5)
    await publish(db, "Just due", status=PostStatus.SCHEDULED, published_at=due)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE site_state SET changed_at = :at"), {"at": utcnow() - timedelta(1)}
        )
    ours = await reader.read()
    assert ours == await through_the_pool(engine)
    assert ours.changed_at == due


async def test_each_read_sees_what_was_committed_before_it(
    reader: clock.Reader, db: AsyncSession
) -> None:
    """The reader's connection never reads from an old snapshot."""
    before = await reader.read()
    for number in range(3):
        await publish(db, f"Post {number}")
        now = await reader.read()
        assert now.version > before.version
        before = now


async def test_a_lost_connection_is_replaced_and_the_read_still_answers(
    engine: AsyncEngine, reader: clock.Reader, db: AsyncSession, caplog
) -> None:
    await publish(db, "Before")
    first = await reader.read()
    # The connection goes away under the reader, as after a database restart.
    await reader._driver.close()
    await publish(db, "After")
    with caplog.at_level(logging.WARNING, logger="components.clock"):
        second = await reader.read()
    assert second.version > first.version
    assert second == await through_the_pool(engine)
    assert "the driver's read failed" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="components.clock"):
        assert await reader.read() == second
    assert not caplog.text, "the next read has a connection of its own again"


async def test_the_readers_connection_is_outside_the_pool(
    engine: AsyncEngine, reader: clock.Reader
) -> None:
    await reader.read()
    assert engine.pool.checkedout() == 0
    await reader.close()
    await reader.close()  # twice is harmless


async def test_an_in_memory_database_keeps_its_one_connection() -> None:
    """SQLite in memory lives on the pool's only connection: the reader must not take it."""
    engine = make_engine("sqlite+aiosqlite://")
    reader = clock.Reader(engine)
    try:
        await migrations.upgrade(engine)
        assert await reader.read() == clock.Moment(0, clock.EPOCH)
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM posts"))).scalar() == 0
    finally:
        await reader.close()
        await engine.dispose()
