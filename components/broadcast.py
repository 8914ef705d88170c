"""What a post's save tells the world: its subscribers by mail (components/newsletter),
the pages it links to by Webmention (components/webmention) and its followers on the
fediverse (components/activitypub). Each is outbox rows written in the save's own
transaction."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from components.activitypub import delivery
from components.models import Post, PostStatus
from components.newsletter import announce
from components.webmention import outgoing


async def after_save(
    session: AsyncSession,
    post: Post,
    *,
    was_draft: bool,
    origin: str,
    was_at: str | None = None,
) -> None:
    """After a save or a change of status; `origin` is the site's address as the writer's
    request saw it (the base URL when one is set), for the links the rows carry, and
    `was_at` the post's public address before the change, if it had one."""
    own_host = urlsplit(origin).netloc.lower()
    await announce.after_save(session, post, was_draft=was_draft, origin=origin)
    await delivery.after_save(session, post, origin=origin, was_at=was_at)
    if post.status is not PostStatus.DRAFT:
        await outgoing.queue(session, post, origin=origin, own_host=own_host)
    elif was_at is not None:
        await outgoing.queue_removal(session, post, source=was_at, own_host=own_host)


async def before_delete(session: AsyncSession, post: Post, *, was_at: str | None) -> None:
    """A post about to be deleted: the pages it linked to and its followers are told, if
    it was public."""
    await delivery.before_delete(session, post, was_at=was_at)
    if was_at is not None:
        own_host = urlsplit(was_at).netloc.lower()
        await outgoing.queue_removal(session, post, source=was_at, own_host=own_host)
