"""The content clock: a version and a time that every write to public content moves on.

Pages carry `changed_at` as their Last-Modified, so a revalidating client or CDN can
never be told "not modified" after a post, tag, comment or redirect changed, even
one the page does not show directly (a deleted neighbour, a new comment count).
The bump happens in the same transaction as the write, so all workers and app
instances see both at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from components.models import Comment, Post, Redirect, SiteState, Tag, utcnow

CONTENT = (Post, Tag, Comment, Redirect)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class QuireSession(Session):
    """The ORM session Quire's sessionmaker makes: one that keeps the content clock."""


def _touches_content(session: Session) -> bool:
    if any(isinstance(obj, CONTENT) for obj in (*session.new, *session.deleted)):
        return True
    return any(isinstance(obj, CONTENT) and session.is_modified(obj) for obj in session.dirty)


def _bump(session: Session, _context: Any, _instances: Any) -> None:
    if not _touches_content(session):
        return
    connection = session.connection()
    moved = connection.execute(
        update(SiteState)
        .where(SiteState.id == 1)
        .values(version=SiteState.version + 1, changed_at=utcnow())
    )
    if moved.rowcount == 0:
        connection.execute(insert(SiteState).values(id=1, version=1, changed_at=utcnow()))


event.listen(QuireSession, "before_flush", _bump)


async def last_changed(session: AsyncSession) -> datetime:
    """When public content last changed (a fixed old date on a blog never written to)."""
    changed = await session.scalar(select(SiteState.changed_at).where(SiteState.id == 1))
    return changed or EPOCH
