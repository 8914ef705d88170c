"""The content clock: a version and a time that every write to public content moves on.

Pages carry the clock's time as their Last-Modified, so a revalidating client or CDN
can never be told "not modified" after a post, tag, comment or redirect changed, even
one the page does not show directly (a deleted neighbour, a new comment count).
The bump happens in the same transaction as the write, so all workers and app
instances see both at once. A scheduled post goes public with no write at all, so
the clock's time is also never earlier than the newest visible post's publication.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, func, select, union_all
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Session

from components.models import Comment, Post, Redirect, SiteState, Tag, utcnow
from components.posts import is_visible

CONTENT = (Post, Tag, Comment, Redirect)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class QuireSession(Session):
    """The ORM session Quire's sessionmaker makes: one that keeps the content clock."""


def _touches_content(session: Session) -> bool:
    if any(isinstance(obj, CONTENT) for obj in (*session.new, *session.deleted)):
        return True
    return any(isinstance(obj, CONTENT) and session.is_modified(obj) for obj in session.dirty)


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
class State:
    """Where the clock stands: every public page is a function of this (and the code)."""

    version: int
    changed_at: datetime  # Last-Modified: see last_changed()


def _state_query() -> Any:
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


async def state(reader: AsyncConnection | AsyncSession) -> State:
    """The content clock now (version 0 and a fixed old date on a blog never written to)."""
    version, changed = (await reader.execute(_state_query())).one()
    return State(version or 0, changed or EPOCH)


async def last_changed(session: AsyncSession) -> datetime:
    """When public content last changed (a fixed old date on a blog never written to)."""
    return (await state(session)).changed_at
