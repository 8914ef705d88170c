"""The content clock: a version and a time that every write to public content moves on.

Pages carry the clock's time as their Last-Modified, so a revalidating client or CDN
can never be told "not modified" after a post, tag, comment or redirect changed, even
one the page does not show directly (a deleted neighbour, a new comment count).
The bump happens in the same transaction as the write, so all workers and app
instances see both at once. A scheduled post goes public with no write at all, so
the clock's time is also never earlier than the newest visible post's publication.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, inspect, select, union_all
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from components.models import (
    AuthorProfile,
    Comment,
    Post,
    Redirect,
    SiteSettings,
    SiteState,
    Tag,
    User,
    UTCDateTime,
    utcnow,
)
from components.posts import is_visible

CONTENT = (Post, Tag, Comment, Redirect, SiteSettings, AuthorProfile)
# What pages show of an account (bylines, author pages, the first admin as the default
# author); a sign-in's writes to a user (a rehashed password, a TOTP step) move nothing.
USER_SHOWN = ("name", "slug", "role")
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

log = logging.getLogger(__name__)


class QuireSession(Session):
    """The ORM session Quire's sessionmaker makes: one that keeps the content clock."""


def _shown_change(session: Session, obj: object) -> bool:
    if isinstance(obj, User):
        attributes = inspect(obj).attrs
        return any(attributes[name].history.has_changes() for name in USER_SHOWN)
    return isinstance(obj, CONTENT) and session.is_modified(obj)


def _touches_content(session: Session) -> bool:
    if any(isinstance(obj, (*CONTENT, User)) for obj in (*session.new, *session.deleted)):
        return True
    return any(_shown_change(session, obj) for obj in session.dirty)


def _bump(session: Session, _context: Any, _instances: Any) -> None:
    if _touches_content(session):
        _move_clock(session)


def _move_clock(session: Session) -> None:
    # One upsert: two first writes to a fresh database would otherwise both find no row
    # to update and both insert one, and the second would fail on the primary key.
    connection = session.connection()
    dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    moment = utcnow()
    connection.execute(
        dialect_insert(SiteState)
        .values(id=1, version=1, changed_at=moment)
        .on_conflict_do_update(
            index_elements=[SiteState.id],
            set_={"version": SiteState.version + 1, "changed_at": moment},
        )
    )


event.listen(QuireSession, "before_flush", _bump)


async def touch(session: AsyncSession) -> None:
    """Move the clock for a write the ORM does not see (a bulk UPDATE or DELETE)."""
    await session.run_sync(_move_clock)


@dataclass(frozen=True)
class Moment:
    """Where the clock stands: every public page is a function of this (and the code)."""

    version: int
    changed_at: datetime  # Last-Modified: see last_changed()


def _clock_query() -> Any:
    """The clock's version and time, with the newest visible post's publication.

    A scheduled post goes public with no write, so the time is the later of the last
    write and that publication: every list, feed and sitemap changed at that moment.
    One statement, because every public page reads it. The newest publication is read
    as ORDER BY .. LIMIT 1, which walks the published_at index from the top and stops at
    the first visible post on both databases, whatever the planner makes of max() under
    the status filter.
    """
    version = select(SiteState.version).where(SiteState.id == 1).scalar_subquery()
    newest = (
        select(Post.published_at)
        .where(is_visible(utcnow()))
        .order_by(Post.published_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    moments = union_all(
        select(SiteState.changed_at.label("at")).where(SiteState.id == 1),
        select(newest),
    ).subquery()
    return select(version, func.max(moments.c.at))


async def now(reader: AsyncConnection | AsyncSession) -> Moment:
    """The content clock now (version 0 and a fixed old date on a blog never written to)."""
    version, changed = (await reader.execute(_clock_query())).one()
    return Moment(version or 0, changed or EPOCH)


async def last_changed(session: AsyncSession) -> datetime:
    """When public content last changed (a fixed old date on a blog never written to)."""
    return (await now(session)).changed_at


# The statement of _clock_query(), written for the driver (SQLite's placeholder; "$1" on
# PostgreSQL): the same three values, the later of the two times taken in Python. Its
# statuses are those of posts.is_visible(); tests/test_clock.py holds the two to the same
# answers.
_DRIVER_SQL = (
    "SELECT (SELECT version FROM site_state WHERE id = 1), "
    "(SELECT changed_at FROM site_state WHERE id = 1), "
    "(SELECT published_at FROM posts WHERE status IN ('published', 'scheduled') "
    "AND published_at <= ? ORDER BY published_at DESC LIMIT 1)"
)


class Reader:
    """Reads of the clock by the database driver alone, on a connection of its own.

    Every request for a public page reads the clock (web/pages/clock.py), so a read's cost
    is paid on every page. Through the pool and the ORM a read took 1.3 ms of CPU
    (checkout, the statement built and looked up, greenlet and thread hops, the reset on
    return); through the driver alone, 40 us. The connection is the engine's (with its
    pragmas and settings) but detached from its pool, so it never takes a request's place
    there: one connection more per process. It runs each read as a statement of its own,
    outside any transaction, so a read sees every commit made before it began.

    When a read fails, the connection is dropped and the read is made the ordinary way,
    which reconnects, or raises the error the rest of Quire knows; the next read opens
    a new connection.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        dialect = engine.dialect
        self._postgresql = dialect.name == "postgresql"
        self.sql = _DRIVER_SQL.replace("?", "$1") if self._postgresql else _DRIVER_SQL
        moment = UTCDateTime().dialect_impl(dialect)
        self._bind = moment.bind_processor(dialect) or _same
        self._result: Callable[[Any], datetime | None] = (
            moment.result_processor(dialect, None) or _same
        )
        self._driver: Any = None

    async def read(self) -> Moment:
        """The clock now, as a statement that began after this call sees it."""
        if isinstance(self.engine.pool, StaticPool):
            # An in-memory SQLite database lives on the pool's one connection: leave it there.
            return await self._through_pool()
        try:
            if self._driver is None:
                self._driver = await self._connect()
            if self._postgresql:
                row = await self._driver.fetchrow(self.sql, *self.parameters())
            else:
                (row,) = await self._driver.execute_fetchall(self.sql, self.parameters())
        except Exception as error:
            log.warning("content clock: the driver's read failed (%r); reading it again", error)
            await self.close()
            return await self._through_pool()
        version, changed, newest = row
        # A column the driver read as NULL is None after the result processor too.
        times = [self._result(t) for t in (changed, newest)]
        return Moment(version or 0, max((t for t in times if t is not None), default=EPOCH))

    async def _through_pool(self) -> Moment:
        async with self.engine.connect() as connection:
            return await now(connection)

    def parameters(self) -> tuple[Any, ...]:
        """What `sql` is sent with now, as the driver takes it."""
        return (self._bind(utcnow()),)

    async def _connect(self) -> Any:
        pooled = await self.engine.raw_connection()
        driver = pooled.driver_connection
        pooled.detach()
        if driver is None:
            # Only an invalidated connection has none, and this one was just checked out;
            # were it to happen, read() catches this and reads through the pool instead.
            raise RuntimeError("the pool handed out a connection without a driver connection")
        # Inside a transaction, SQLite would read from its snapshot: never a new commit.
        if self._postgresql and driver.is_in_transaction():
            await driver.execute("ROLLBACK")
        elif not self._postgresql and driver.in_transaction:
            await driver.rollback()
        return driver

    async def close(self) -> None:
        driver, self._driver = self._driver, None
        if driver is not None:
            with contextlib.suppress(Exception):
                await driver.close()


def _same(value: Any) -> Any:
    return value
