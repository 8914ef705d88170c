"""How Quire connects: SQLite's pragmas, PostgreSQL's pool and timeouts, and which
database errors are a lost race (run again) or an outage (503), not a bug."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from components.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    Pool,
    is_conflict,
    is_sqlite,
    is_unavailable,
    make_engine,
)
from tests.conftest import app_config
from web import create_app


async def test_sqlite_connections_get_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with engine.connect() as connection:
            pragmas = {
                name: (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        await engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
        "synchronous": 1,  # NORMAL: safe with WAL, one fsync per checkpoint
    }


async def test_a_postgres_pool_is_sized_and_checked_and_takes_sslmode_as_an_argument() -> None:
    url = "postgresql+asyncpg://u:p@127.0.0.1:9/blog?sslmode=require"
    engine = make_engine(url, Pool(size=3, overflow=4, timeout=7, statement_timeout=2.5))
    pool = engine.sync_engine.pool
    assert (pool.size(), pool._max_overflow, pool._timeout, pool._pre_ping) == (3, 4, 7, True)
    sent: dict = {}

    def capture(_dialect: object, _record: object, _args: object, params: dict) -> None:
        sent.update(params)
        raise ConnectionRefusedError("captured, not connecting")

    event.listen(engine.sync_engine, "do_connect", capture)
    try:
        with pytest.raises(ConnectionRefusedError):
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    assert "sslmode" not in sent
    assert sent["ssl"] == "require"
    assert sent["server_settings"] == {"application_name": "quire", "statement_timeout": "2500"}


async def test_sslmode_in_the_url_connects(pg_url: str) -> None:
    engine = make_engine(f"{pg_url}?sslmode=disable")
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()


async def test_sqlite_lock_is_a_conflict_and_an_outage_not_a_bug(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'locked.db'}"
    engine = make_engine(url)
    impatient = make_engine(url, connect_args={"timeout": 0})
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        async with engine.connect() as holder, impatient.connect() as loser:
            await holder.execute(text("BEGIN IMMEDIATE"))
            await loser.execute(text("PRAGMA busy_timeout=0"))
            with pytest.raises(OperationalError) as raised:
                await loser.execute(text("INSERT INTO t VALUES (1)"))
            await holder.rollback()
    finally:
        await engine.dispose()
        await impatient.dispose()
    assert is_conflict(raised.value)
    assert is_unavailable(raised.value)


async def test_a_postgres_deadlock_is_a_conflict(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE IF EXISTS quire_deadlock"))
            await connection.execute(text("CREATE TABLE quire_deadlock (id INT PRIMARY KEY)"))
            await connection.execute(text("INSERT INTO quire_deadlock VALUES (1), (2)"))
        async with engine.connect() as first, engine.connect() as second:
            await first.execute(text("UPDATE quire_deadlock SET id = id WHERE id = 1"))
            await second.execute(text("UPDATE quire_deadlock SET id = id WHERE id = 2"))
            # Each now waits for the row the other holds: PostgreSQL ends one of them.
            outcomes = await asyncio.gather(
                first.execute(text("UPDATE quire_deadlock SET id = id WHERE id = 2")),
                second.execute(text("UPDATE quire_deadlock SET id = id WHERE id = 1")),
                return_exceptions=True,
            )
            await first.rollback()
            await second.rollback()
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE quire_deadlock"))
    finally:
        await engine.dispose()
    [error] = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert isinstance(error, DBAPIError)
    assert is_conflict(error)


async def test_the_statement_timeout_cancels_a_long_query_as_an_outage(pg_url: str) -> None:
    engine = make_engine(pg_url, Pool(statement_timeout=0.2))
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("SHOW statement_timeout")) == "200ms"
            with pytest.raises(DBAPIError) as raised:
                await connection.execute(text("SELECT pg_sleep(2)"))
    finally:
        await engine.dispose()
    assert not is_conflict(raised.value)
    assert is_unavailable(raised.value)


async def test_an_unreachable_server_and_an_exhausted_pool_are_outages() -> None:
    # Port 9 (discard) on loopback: nothing listens there.
    engine = make_engine("postgresql+asyncpg://u@127.0.0.1:9/none", Pool(timeout=1))
    try:
        with pytest.raises(Exception) as raised:
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    assert is_unavailable(raised.value)
    assert is_unavailable(PoolTimeout("QueuePool limit reached"))
    assert not is_unavailable(ValueError("a bug"))
    assert not is_conflict(OperationalError("SELECT", {}, sqlite3.OperationalError("no table")))


def test_is_sqlite() -> None:
    assert is_sqlite("sqlite+aiosqlite:///x.db")
    assert not is_sqlite("postgresql+asyncpg://u@h/d")


async def test_the_app_recovers_when_postgres_drops_its_connections(
    pg_url: str, tmp_path: Path
) -> None:
    app = create_app(app_config(pg_url, tmp_path / "instance"))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        assert (await client.get("/healthz")).status_code == 200
        # What a database restart does to the pool: every connection ended under it.
        admin = make_engine(pg_url, connect_args={"server_settings": {"application_name": "x"}})
        try:
            async with admin.connect() as connection:
                ended = await connection.scalar(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = 'quire' AND pid <> pg_backend_pid() "
                        # Only this test's database: other workers' tests share the server.
                        "AND datname = current_database()"
                    )
                )
        finally:
            await admin.dispose()
        assert ended >= 1
        # Pre-ping finds the dead connection and opens a new one: no error, no restart.
        for _ in range(3):
            assert (await client.get("/healthz")).status_code == 200
