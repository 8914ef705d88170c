"""Moderation: the queue of comments a writer looks after, and their verdicts on them
(approve, spam, delete), each written to the event log that live pages follow
(components/comments/events)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, selectinload

from components import clock
from components.comments import events
from components.models import Comment, CommentEventKind, CommentStatus, Post, User, utcnow


class Verdict(enum.StrEnum):
    APPROVE = "approve"
    SPAM = "spam"


def _moderated_by(user: User) -> ColumnElement[bool]:
    """Comments this user moderates: all for an admin, those on their own posts otherwise."""
    if user.is_admin:
        return true()
    return Comment.post_id.in_(select(Post.id).where(Post.author_id == user.id))


_QUEUE_POST = load_only(Post.title, Post.slug, Post.published_at, Post.status, Post.author_id)


async def queue(
    session: AsyncSession, *, user: User, status: CommentStatus | None, limit: int = 100
) -> Sequence[Comment]:
    """The comments a user moderates, newest first, with their posts."""
    query = (
        select(Comment)
        .where(_moderated_by(user))
        .options(selectinload(Comment.post).options(_QUEUE_POST))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(Comment.status == status)
    return (await session.scalars(query)).all()


async def counts(session: AsyncSession, user: User) -> dict[CommentStatus, int]:
    """How many comments of each status this user moderates."""
    query = select(Comment.status, func.count()).where(_moderated_by(user)).group_by(Comment.status)
    found = {status: number for status, number in (await session.execute(query)).all()}
    return {status: found.get(status, 0) for status in CommentStatus}


async def pending_count(session: AsyncSession, user: User) -> int:
    query = select(func.count()).where(Comment.status == CommentStatus.PENDING, _moderated_by(user))
    return await session.scalar(query) or 0


async def for_moderation(session: AsyncSession, comment_id: int) -> Comment | None:
    """A comment with its post (and the post's author), to decide who may moderate it."""
    return await session.scalar(
        select(Comment)
        .where(Comment.id == comment_id)
        .options(selectinload(Comment.post).options(_QUEUE_POST))
    )


def can_moderate(user: User, comment: Comment) -> bool:
    return user.is_admin or comment.post.author_id == user.id


async def judge(session: AsyncSession, comment: Comment, verdict: Verdict) -> None:
    """Approve a comment or mark it as spam; spam is kept until purged."""
    was_shown = comment.status is CommentStatus.APPROVED
    comment.status = CommentStatus.APPROVED if verdict is Verdict.APPROVE else CommentStatus.SPAM
    await session.flush()
    if verdict is Verdict.APPROVE and not was_shown:
        await events.record(session, comment, CommentEventKind.PUBLISHED)
    elif verdict is Verdict.SPAM and was_shown:
        await events.record(session, comment, CommentEventKind.WITHDRAWN)
    await session.flush()


async def remove(session: AsyncSession, comment: Comment) -> None:
    """Delete a comment and its replies for good."""
    await _delete(session, [comment])


async def _delete(session: AsyncSession, doomed: Sequence[Comment]) -> None:
    """Delete comments with their replies, telling live pages about those readers saw."""
    ids = [c.id for c in doomed]
    replies = (await session.scalars(select(Comment).where(Comment.parent_id.in_(ids)))).all()
    gone = {c.id: c for c in [*doomed, *replies]}
    # One statement: the ORM cannot delete rows of a self-referencing table one by one
    # without loading every relationship, which lazy="raise" forbids.
    await clock.touch(session)
    await session.execute(
        delete(Comment).where(Comment.id.in_(gone)).execution_options(synchronize_session=False)
    )
    for comment in gone.values():
        if comment.status is CommentStatus.APPROVED:
            await events.record(session, comment, CommentEventKind.WITHDRAWN)
        session.expunge(comment)
    await session.flush()


async def purge_spam(session: AsyncSession, older_than: timedelta) -> int:
    """Delete spam older than `older_than` (and the replies it drew); the number of spam."""
    doomed = (
        await session.scalars(
            select(Comment).where(
                Comment.status == CommentStatus.SPAM, Comment.created_at < utcnow() - older_than
            )
        )
    ).all()
    if doomed:
        await _delete(session, doomed)
    return len(doomed)
