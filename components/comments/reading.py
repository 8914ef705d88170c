"""What readers see of a post's comments: its threads, one comment, and its feed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import SHOWN_KINDS, Comment, CommentKind, CommentStatus


@dataclass
class Thread:
    comment: Comment
    replies: list[Comment] = field(default_factory=list)


async def threads(session: AsyncSession, post_id: int) -> list[Thread]:
    """A post's visible comments, oldest first, each with its visible replies: one statement.

    A reply whose comment is no longer shown stands on its own, so what is counted is shown.
    """
    shown = (
        await session.scalars(
            select(Comment)
            .where(
                Comment.post_id == post_id,
                Comment.status == CommentStatus.APPROVED,
                Comment.kind.in_(SHOWN_KINDS),
            )
            .order_by(Comment.created_at, Comment.id)
        )
    ).all()
    by_id: dict[int, Thread] = {}
    result: list[Thread] = []
    for comment in shown:
        if comment.parent_id is not None and comment.parent_id in by_id:
            by_id[comment.parent_id].replies.append(comment)
            continue
        thread = Thread(comment)
        by_id[comment.id] = thread
        result.append(thread)
    return result


@dataclass(frozen=True)
class Reactions:
    """The approved likes and reposts a post was sent by Webmention, oldest first."""

    likes: Sequence[Comment]
    reposts: Sequence[Comment]


async def reactions(session: AsyncSession, post_id: int) -> Reactions:
    """A post's approved likes and reposts: one statement."""
    found = await session.scalars(
        select(Comment)
        .where(
            Comment.post_id == post_id,
            Comment.status == CommentStatus.APPROVED,
            Comment.kind.in_((CommentKind.LIKE, CommentKind.REPOST)),
        )
        .order_by(Comment.created_at, Comment.id)
    )
    rows = found.all()
    return Reactions(
        likes=[row for row in rows if row.kind is CommentKind.LIKE],
        reposts=[row for row in rows if row.kind is CommentKind.REPOST],
    )


async def visible(session: AsyncSession, comment_id: int) -> Comment | None:
    return await session.scalar(
        select(Comment).where(
            Comment.id == comment_id,
            Comment.status == CommentStatus.APPROVED,
            Comment.kind.in_(SHOWN_KINDS),
        )
    )


async def for_feed(session: AsyncSession, post_id: int, *, limit: int) -> Sequence[Comment]:
    """A post's newest visible comments, for its Atom feed."""
    query = (
        select(Comment)
        .where(
            Comment.post_id == post_id,
            Comment.status == CommentStatus.APPROVED,
            Comment.kind.in_(SHOWN_KINDS),
        )
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()
