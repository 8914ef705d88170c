"""A post announced to the subscribers: one outbox row per confirmed subscriber, written
in the transaction that publishes (or schedules) the post, due when the post goes live.

A post is announced once. A scheduled post's mails wait for its time; if it is moved
later, they wait again, and if it goes back to draft before any was sent, they are
dropped and the post will be announced when it is published again.
"""

from __future__ import annotations

from sqlalchemy import JSON, delete, exists, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import (
    Announcement,
    Delivery,
    DeliveryState,
    Post,
    PostKind,
    PostStatus,
    Subscriber,
    SubscriberState,
    utcnow,
)
from components.newsletter.subscribers import CHANNEL

PURPOSE = "post"


async def after_save(session: AsyncSession, post: Post, *, was_draft: bool, origin: str) -> int:
    """What a save or a change of status means for the subscribers: a draft that is now
    published or scheduled is announced, a post taken back to draft is withdrawn (if
    no mail went out yet), and an edit of a public post sends nothing. How many mails
    were queued. `origin` is the site's address as the writer's request saw it, for the
    links in the mail when no base URL is set."""
    if post.status is PostStatus.DRAFT:
        await withdraw(session, post.id)
        return 0
    if not was_draft:
        return 0
    return await announce(session, post, origin=origin)


async def announce(session: AsyncSession, post: Post, *, origin: str) -> int:
    """Queue the post's mail to every confirmed subscriber, unless it was announced
    before or is not going to be public; how many mails were queued."""
    if (
        post.kind is not PostKind.POST
        or post.status not in (PostStatus.PUBLISHED, PostStatus.SCHEDULED)
        or post.published_at is None
    ):
        return 0
    if await session.get(Announcement, (post.id, CHANNEL)) is not None:
        return 0
    session.add(Announcement(post_id=post.id, channel=CHANNEL))
    now = utcnow()
    due = max(now, post.published_at)
    confirmed = select(
        literal(CHANNEL),
        literal(PURPOSE),
        Subscriber.id,
        literal(post.id),
        literal({"origin": origin}, JSON),
        literal(DeliveryState.PENDING.value),
        literal(0),
        literal(due, Delivery.due_at.type),
        literal("", Delivery.last_error.type),
        literal(now, Delivery.created_at.type),
    ).where(Subscriber.state == SubscriberState.CONFIRMED)
    columns = [
        "channel",
        "purpose",
        "subscriber_id",
        "post_id",
        "payload",
        "state",
        "attempts",
        "due_at",
        "last_error",
        "created_at",
    ]
    result = await session.execute(insert(Delivery).from_select(columns, confirmed))
    return getattr(result, "rowcount", 0) or 0


async def withdraw(session: AsyncSession, post_id: int) -> None:
    """The post went back to draft before its mails went out: drop them, and let its next
    publication announce it. Once one mail was sent, the rest still go."""
    # Sent, or being sent right now (leased): the rest still go, and the post is not
    # announced a second time when it is published again.
    sent = exists().where(
        Delivery.post_id == post_id,
        Delivery.purpose == PURPOSE,
        (Delivery.state == DeliveryState.SENT) | (Delivery.leased_until > utcnow()),
    )
    if await session.scalar(select(sent)):
        return
    await session.execute(
        delete(Delivery).where(
            Delivery.post_id == post_id,
            Delivery.purpose == PURPOSE,
            Delivery.state == DeliveryState.PENDING,
        )
    )
    await session.execute(
        delete(Announcement).where(Announcement.post_id == post_id, Announcement.channel == CHANNEL)
    )
