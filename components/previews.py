"""Private preview links: a post readers cannot see yet (a draft, a scheduled post, a
page), shown to whoever holds the link, until it expires or its writer revokes it.

A token is 256 random bits from `secrets`; the database keeps only its SHA-256 hash, so
the link is shown to its writer once, when it is made, and a copy of the database (a
backup, a leaked dump) opens no preview. Resolving a token is one lookup by its hash.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from components.models import Post, PreviewLink, User, utcnow
from components.posts import is_public

# What a writer may choose, in days; a link made without a choice lasts a week: long
# enough for a reviewer to get to it, short enough that a forgotten link dies.
LIFETIMES = (1, 7, 30)
DEFAULT_DAYS = 7
# Live links a post may have at once: past this, revoke one first.
MAX_LINKS = 20
# secrets.token_urlsafe(32): 43 characters. Anything much longer was not made here.
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 64


class Refused(Exception):
    """A link that cannot be made, with the reason to show the writer."""


@dataclass(frozen=True)
class Made:
    """A new link's row and its token, which exists nowhere else once this is answered."""

    link: PreviewLink
    token: str


@dataclass(frozen=True)
class Preview:
    """What a link opens: its post (with its byline and tags) and when the link dies."""

    post: Post
    expires_at: datetime


def lifetime(value: str | None) -> int | None:
    """The days a form asks for ("7"), the default when it asks for none; None when it
    asks for something not offered."""
    if value is None or not value.strip():
        return DEFAULT_DAYS
    try:
        days = int(value)
    except ValueError:
        return None
    return days if days in LIFETIMES else None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def may_preview(post: Post) -> bool:
    """A link is made only for what readers cannot see yet."""
    return not is_public(post)


async def create(
    session: AsyncSession, post: Post, *, days: int = DEFAULT_DAYS, now: datetime | None = None
) -> Made:
    """A new link to `post`, live for `days`. The post's expired links go at the same time.
    Raises Refused for a post readers can already see, or one with MAX_LINKS live links."""
    if days not in LIFETIMES:
        raise ValueError(f"a preview link lasts {LIFETIMES} days, not {days}")
    if not may_preview(post):
        raise Refused("This post is already public: share its address instead.")
    now = now or utcnow()
    await session.execute(
        delete(PreviewLink).where(PreviewLink.post_id == post.id, PreviewLink.expires_at <= now)
    )
    live = await session.scalar(
        select(func.count()).select_from(PreviewLink).where(PreviewLink.post_id == post.id)
    )
    if (live or 0) >= MAX_LINKS:
        raise Refused(f"This post has {MAX_LINKS} live preview links: revoke one first.")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = PreviewLink(
        post_id=post.id,
        token_hash=hash_token(token),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(link)
    await session.flush()
    return Made(link, token)


async def for_post(
    session: AsyncSession, post_id: int, *, now: datetime | None = None
) -> list[PreviewLink]:
    """A post's live links, the newest first: one statement."""
    found = await session.scalars(
        select(PreviewLink)
        .where(PreviewLink.post_id == post_id, PreviewLink.expires_at > (now or utcnow()))
        .order_by(PreviewLink.created_at.desc(), PreviewLink.id.desc())
    )
    return list(found)


async def revoke(session: AsyncSession, post_id: int, link_id: int) -> bool:
    """Delete one of a post's links; False when it was not there (revoked already)."""
    query = delete(PreviewLink).where(PreviewLink.id == link_id, PreviewLink.post_id == post_id)
    # A DELETE without RETURNING gives a CursorResult, with its rowcount (as in accounts.py).
    result = cast(CursorResult[Any], await session.execute(query))
    return bool(result.rowcount)


async def resolve(
    session: AsyncSession, token: str, *, now: datetime | None = None
) -> Preview | None:
    """The post a live link opens, with what its page shows (byline, tags); None for a
    token that is unknown, expired or revoked. Two statements (one for a token that
    could not be ours)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = (
        await session.execute(
            select(Post, PreviewLink.expires_at)
            .join(PreviewLink, PreviewLink.post_id == Post.id)
            .where(
                PreviewLink.token_hash == hash_token(token),
                PreviewLink.expires_at > (now or utcnow()),
            )
            .options(
                joinedload(Post.author).load_only(User.name, User.slug, raiseload=True),
                selectinload(Post.tags),
            )
        )
    ).first()
    if row is None:
        return None
    return Preview(row[0], row[1])


def as_published(session: AsyncSession, post: Post, *, now: datetime | None = None) -> Post:
    """`post` as its page would show it once published, to render, never to save: taken
    out of the session (no change made here is ever written), dated now if it is a draft,
    and without share buttons, which would hand readers an address that does not work yet."""
    session.expunge(post)
    if post.published_at is None:
        post.published_at = now or utcnow()
    post.share_enabled = False
    return post
