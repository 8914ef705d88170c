"""A post's Webmentions to send: one outbox row for each page it links to, written in
the transaction that publishes or saves the post, due when the post is live."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import Delivery, DeliveryState, Post, PostStatus, utcnow
from components.webmention import links

CHANNEL = "webmention"


async def queue(session: AsyncSession, post: Post, *, origin: str, own_host: str) -> int:
    """Queue a Webmention to each page the post answers or links to (none already
    waiting); how many."""
    if post.status is PostStatus.DRAFT or post.published_at is None:
        return 0
    targets = links.of_post(post, base=origin + "/", own_host=own_host)
    if not targets:
        return 0
    waiting = list(
        await session.scalars(
            select(Delivery.payload).where(
                Delivery.post_id == post.id,
                Delivery.channel == CHANNEL,
                Delivery.state == DeliveryState.PENDING,
            )
        )
    )
    already = {payload.get("target") for payload in waiting}
    due = max(utcnow(), post.published_at)
    fresh = [target for target in targets if target not in already]
    session.add_all(
        Delivery(
            channel=CHANNEL,
            purpose="send",
            post_id=post.id,
            payload={"target": target, "origin": origin},
            host=urlsplit(target).netloc.lower()[:255],
            due_at=due,
        )
        for target in fresh
    )
    await session.flush()
    return len(fresh)


async def queue_removal(session: AsyncSession, post: Post, *, source: str, own_host: str) -> int:
    """The post at `source` is gone (deleted, or a draft again): tell each page it linked
    to, whose endpoint will find `source` answering 404 and take the mention down. The
    rows name the source themselves, since the post may no longer exist to say it."""
    targets = links.of_post(post, base=source, own_host=own_host)
    session.add_all(
        Delivery(
            channel=CHANNEL,
            purpose="removal",
            payload={"target": target, "source": source},
            host=urlsplit(target).netloc.lower()[:255],
        )
        for target in targets
    )
    await session.flush()
    return len(targets)
