"""Engines and sessions: one place that knows how Quire talks to its database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from components.clock import QuireSession

SQLITE_BUSY_TIMEOUT_MS = 5000
# SQLITE_BUSY and SQLITE_LOCKED (the low byte of any extended code such as BUSY_SNAPSHOT).
SQLITE_LOCK_CODES = {5, 6}
# Serialization failure, deadlock, lock not available: the transaction lost a race and
# may simply be run again.
POSTGRES_RETRY_STATES = {"40001", "40P01", "55P03"}
# Cancelled by statement_timeout, too many connections, the server shutting down or
# restarting: the database cannot serve us now, whatever we send.
POSTGRES_UNAVAILABLE_STATES = {"57014", "53300", "57P01", "57P02", "57P03"}
APPLICATION_NAME = "quire"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@dataclass(frozen=True)
class Pool:
    """How many connections one process keeps to PostgreSQL, and how long it waits.

    `size` stay open, `overflow` more may open under load; a request waits `timeout`
    seconds for a free one. `statement_timeout` (seconds, 0 for none) cancels any
    statement that runs longer, so a runaway query cannot hold a connection for good.
    SQLite ignores all of it: one file, no server to share.
    """

    size: int = 5
    overflow: int = 5
    timeout: float = 10.0
    statement_timeout: float = 0.0


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, pool: Pool | None = None, **options: Any) -> AsyncEngine:
    """Create the async engine for `url` with Quire's per-database settings.

    SQLite gets WAL (readers never block the writer), enforced foreign keys and a
    busy timeout, so concurrent workers wait for the write lock instead of failing.
    PostgreSQL gets a checked pool (pre-ping: a connection broken by a database
    restart is replaced, not handed out) sized by `pool`.
    """
    if is_sqlite(url):
        engine = create_async_engine(url, **options)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    parsed = make_url(url)
    connect_args: dict[str, Any] = dict(options.pop("connect_args", {}))
    sslmode = parsed.query.get("sslmode")
    if sslmode:
        # A PaaS writes libpq's `?sslmode=require`; asyncpg takes it as a connect argument.
        parsed = parsed.difference_update_query(["sslmode"])
        connect_args["ssl"] = sslmode
    # Named in pg_stat_activity, so an operator can tell Quire's connections apart.
    server_settings = connect_args.setdefault("server_settings", {})
    server_settings.setdefault("application_name", APPLICATION_NAME)
    if pool is not None:
        options.setdefault("pool_size", pool.size)
        options.setdefault("max_overflow", pool.overflow)
        options.setdefault("pool_timeout", pool.timeout)
        if pool.statement_timeout:
            server_settings["statement_timeout"] = str(round(pool.statement_timeout * 1000))
    options.setdefault("pool_pre_ping", True)
    return create_async_engine(parsed, connect_args=connect_args, **options)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Objects stay readable after commit: templates render them once the view is done.
    # Every write through these sessions moves the content clock (components/clock.py).
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=QuireSession)


def is_conflict(error: BaseException) -> bool:
    """Did a transaction lose a race with another one (SQLite's write lock held past the
    busy timeout, a PostgreSQL deadlock or serialization failure)? Run again, it can
    succeed: nothing it wrote was kept."""
    if not isinstance(error, DBAPIError):
        return False
    code = getattr(error.orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in SQLITE_LOCK_CODES
    return getattr(error.orig, "sqlstate", None) in POSTGRES_RETRY_STATES


def is_unavailable(error: BaseException) -> bool:
    """Is the database out of reach or overloaded (rather than our SQL wrong)? Such a
    request should be answered 503, try again later, not 500."""
    if isinstance(error, PoolTimeout | ConnectionError | TimeoutError):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or is_conflict(error):
        return True
    if getattr(error.orig, "sqlstate", None) in POSTGRES_UNAVAILABLE_STATES:
        return True
    # asyncpg reports a refused or dropped connection as an OSError beneath the DBAPI one.
    # (SQLAlchemy always wraps the driver's error: orig is None only in one made by hand.)
    return error.orig is not None and isinstance(error.orig.__cause__, OSError | ConnectionError)


def outage_summary(error: BaseException) -> str:
    """An outage on one line, for a log that must not fill with a traceback per request:
    the driver's own error where there is one."""
    cause = getattr(error, "orig", None) or error.__cause__ or error
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {first}"[:300] if first else type(cause).__name__
