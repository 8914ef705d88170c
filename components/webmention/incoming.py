"""Webmentions received: checked when they arrive, verified later, moderated as comments.

`POST /webmention` takes a source (their page) and a target (our post). What can be
checked at once is (addresses, the post exists); the rest waits for the outbox worker
(components/webmention/verifying.py), so that the sender gets its 202 at once and this
site fetches nothing while a request waits.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import Delivery, DeliveryState, Post, utcnow

CHANNEL = "mention-in"
MAX_URL = 2000
# Mentions waiting to be verified, all senders together: past it, 429 until they are.
MAX_WAITING = 500
# Mentions one server may send in PER_HOST_WINDOW; past it, 429.
MAX_PER_HOST = 30
PER_HOST_WINDOW = timedelta(minutes=10)


class Refused(ValueError):
    """Why a Webmention is not taken, for its sender; `status` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check(source: str, target: str, *, own_host: str) -> None:
    """Raise Refused unless `source` and `target` are http(s) pages, different, and the
    target is on this site."""
    for name, url in (("source", source), ("target", target)):
        if not url:
            raise Refused(f"The {name} is missing.")
        if len(url) > MAX_URL:
            raise Refused(f"The {name} is longer than {MAX_URL} characters.")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 (a bad port or bracket raises here, not later)
        except ValueError:
            raise Refused(f"The {name} is not a valid address.") from None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Refused(f"The {name} must be an http or https address.")
    if source.rstrip("/") == target.rstrip("/"):
        raise Refused("The source and the target are the same page.")
    if urlsplit(target).netloc.lower() != own_host:
        raise Refused(f"The target is not on this site ({own_host}).")


async def accept(
    session: AsyncSession, post: Post, *, source: str, target: str, ip: str
) -> Delivery | None:
    """Queue the verification; None when the same mention already waits for one."""
    waiting = (
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.channel == CHANNEL, Delivery.state == DeliveryState.PENDING)
    )
    if (await session.scalar(waiting) or 0) >= MAX_WAITING:
        raise Refused("Too many Webmentions wait to be verified; send it again later.", 429)
    host = urlsplit(source).netloc.lower()[:255]
    recent = (
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.channel == CHANNEL,
            Delivery.host == host,
            Delivery.created_at > utcnow() - PER_HOST_WINDOW,
        )
    )
    if (await session.scalar(recent) or 0) >= MAX_PER_HOST:
        raise Refused(f"Too many Webmentions from {host} lately; send it again later.", 429)
    same = await session.scalars(
        select(Delivery.payload).where(
            Delivery.channel == CHANNEL,
            Delivery.post_id == post.id,
            Delivery.state == DeliveryState.PENDING,
        )
    )
    if any(payload.get("source") == source for payload in same):
        return None
    delivery = Delivery(
        channel=CHANNEL,
        purpose="verify",
        post_id=post.id,
        payload={"source": source, "target": target, "ip": ip[:45]},
        host=host,
    )
    session.add(delivery)
    await session.flush()
    return delivery
