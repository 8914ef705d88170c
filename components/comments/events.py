"""What live pages follow: the comment event log, written with each change, read after an id.

Every change readers could notice is one `CommentEvent`, written in the same
transaction as the change (components/comments/intake and moderation). Event ids follow
commit order, so "everything after id N" is exactly what a page rendered at N has not
seen: the reply to a reconnecting browser's Last-Event-ID, and the work of each
process's hub (components/comments/hub) when it learns that something new was committed.

On PostgreSQL the writing transaction also sends a NOTIFY, delivered at commit to
every process that LISTENs; on SQLite the hubs poll `position()`, one index lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, selectinload

from components.models import (
    SHOWN_KINDS,
    Comment,
    CommentEvent,
    CommentEventKind,
    CommentStatus,
    Post,
)

CHANNEL = "quire_comments"
# Events read at once: a longer catch-up is read in batches of this many.
MAX_BATCH = 500


@dataclass(frozen=True)
class Change:
    """One event, with what a live page needs to show it."""

    id: int
    at: datetime
    kind: CommentEventKind
    post_id: int
    # None once the post's author is deleted (posts.author_id is set to NULL).
    post_author_id: int | None
    comment_id: int
    # The comment as it is now, with its post; None once it is deleted.
    comment: Comment | None
    # How many comments readers of the post see now.
    shown_count: int

    @property
    def shows(self) -> Comment | None:
        """The comment to show readers, if this event published one still published."""
        comment = self.comment
        published = self.kind is CommentEventKind.PUBLISHED
        if (
            published
            and comment is not None
            and comment.status is CommentStatus.APPROVED
            and comment.kind in SHOWN_KINDS
        ):
            return comment
        return None


async def record(session: AsyncSession, comment: Comment, kind: CommentEventKind) -> None:
    """Log a change readers could notice, in the transaction that makes it."""
    # Written after the comment's own flush, which took the content clock's lock, so
    # event ids are handed out in commit order (components/clock.py).
    session.add(CommentEvent(post_id=comment.post_id, comment_id=comment.id, kind=kind))
    await notify(session)


async def notify(session: AsyncSession) -> None:
    """Wake the other processes' hubs when this transaction commits (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


async def latest(session: AsyncSession, post_id: int | None = None) -> int:
    """The newest event id (of one post, or of all): what a page rendered now has seen."""
    query = select(func.max(CommentEvent.id))
    if post_id is not None:
        query = query.where(CommentEvent.post_id == post_id)
    return await session.scalar(query) or 0


async def position(session: AsyncSession, seen: int) -> tuple[int, datetime | None]:
    """The newest event id, and when event `seen` was written (None if there is none):
    one statement. A hub compares the time with the one it read, to notice a log that
    was replaced (a database restored from a backup) even where the ids line up."""
    written = select(CommentEvent.at).where(CommentEvent.id == seen).scalar_subquery()
    row = (await session.execute(select(func.max(CommentEvent.id), written))).one()
    return row[0] or 0, row[1]


async def after(
    session: AsyncSession, after_id: int, *, post_id: int | None = None, limit: int = MAX_BATCH
) -> list[Change]:
    """The events after `after_id` (of one post, or of all), oldest first: three statements."""
    query = (
        select(CommentEvent, Post.author_id)
        .join(Post, Post.id == CommentEvent.post_id)
        .where(CommentEvent.id > after_id)
        .order_by(CommentEvent.id)
        .limit(limit)
    )
    if post_id is not None:
        query = query.where(CommentEvent.post_id == post_id)
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    comment_ids = {event.comment_id for event, _ in rows}
    post_ids = {event.post_id for event, _ in rows}
    found = await session.scalars(
        select(Comment)
        .where(Comment.id.in_(comment_ids))
        .options(
            selectinload(Comment.post).options(
                load_only(
                    Post.title,
                    Post.slug,
                    Post.published_at,
                    Post.status,
                    Post.author_id,
                    Post.comments_enabled,
                )
            )
        )
    )
    comments = {comment.id: comment for comment in found}
    counted = await session.execute(
        select(Comment.post_id, func.count())
        .where(
            Comment.post_id.in_(post_ids),
            Comment.status == CommentStatus.APPROVED,
            Comment.kind.in_(SHOWN_KINDS),
        )
        .group_by(Comment.post_id)
    )
    counts: dict[int, int] = {post_id: number for post_id, number in counted}
    return [
        Change(
            id=event.id,
            at=event.at,
            kind=event.kind,
            post_id=event.post_id,
            post_author_id=author_id,
            comment_id=event.comment_id,
            comment=comments.get(event.comment_id),
            shown_count=counts.get(event.post_id, 0),
        )
        for event, author_id in rows
    ]
