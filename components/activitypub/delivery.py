"""What this site sends the fediverse, as outbox rows (channel "activitypub"), one per
inbox: a shared inbox takes one copy for all its server's followers.

- A post first made public: `Create` from its author's actor to the author's followers,
  and `Announce` from the blog's actor to the blog's followers (a post without an author
  is the blog's own: `Create` from the blog). Each at the post's publication time.
- A public post saved again: `Update` to both; taken back to draft or deleted: `Delete`.
- A post that answers another (`in_reply_to`): each of these also to that post's author,
  whose inbox is looked up when the row is sent.
- A follow accepted or refused: `Accept` or `Reject` to the follower.
- An account followed, or no longer: `Follow`, or `Undo` of it, to its inbox.

Rows carry the actor that signs them and the site's address (`origin`); the activity
itself is made when it is sent (components/activitypub/sending.py), from the post as
it is then.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.activitypub import actors
from components.activitypub.remote import host_of
from components.models import (
    Announcement,
    Delivery,
    Follower,
    FollowerState,
    Following,
    Post,
    PostKind,
    PostStatus,
    RemoteActor,
    User,
    utcnow,
)

CHANNEL = "activitypub"


async def inboxes(session: AsyncSession, actor_ids: list[int]) -> list[str]:
    """The distinct inboxes of the accepted followers of `actor_ids`."""
    if not actor_ids:
        return []
    inbox = func.coalesce(func.nullif(RemoteActor.shared_inbox, ""), RemoteActor.inbox)
    found = await session.scalars(
        select(inbox)
        .join(Follower, Follower.remote_id == RemoteActor.id)
        .where(Follower.actor_id.in_(actor_ids), Follower.state == FollowerState.ACCEPTED)
        .group_by(inbox)
        .order_by(inbox)
    )
    return list(found)


async def _queue(
    session: AsyncSession,
    purpose: str,
    targets: list[str],
    *,
    actor_id: int,
    post_id: int | None,
    payload: dict[str, Any],
    due: Any = None,
    replying: str = "",
) -> int:
    """One row per inbox in `targets`, and one for the author of the post at `replying`
    (whose inbox the sender looks up when it sends)."""
    addressed = [({"inbox": target}, target) for target in targets]
    if replying:
        addressed.append(({"inbox": "", "via": replying}, replying))
    if not addressed:
        return 0
    now = utcnow()
    rows = [
        {
            "channel": CHANNEL,
            "purpose": purpose,
            "post_id": post_id,
            "payload": {**payload, **where, "actor": actor_id},
            "host": host_of(target)[:255],
            "due_at": due or now,
            "created_at": now,
            "state": "pending",
            "attempts": 0,
            "last_error": "",
        }
        for where, target in addressed
    ]
    await session.execute(insert(Delivery), rows)
    return len(rows)


async def after_save(
    session: AsyncSession, post: Post, *, origin: str, was_at: str | None = None
) -> int:
    """What a save means for the post's followers; how many rows were queued. `was_at`
    is the post's public address before the change, if it had one. Pages are not
    federated."""
    if post.kind is not PostKind.POST:
        return 0
    announced = await session.get(Announcement, (post.id, CHANNEL))
    if post.status is PostStatus.DRAFT or post.published_at is None:
        if announced is None:
            return 0
        # Taken down: a Create still waiting is simply not sent; one sent is undone.
        await session.delete(announced)
        return await _removal(session, post, origin=origin, object_id=was_at)
    blog = await actors.blog(session)
    user = await session.get(User, post.author_id) if post.author_id else None
    author = await actors.of_user(session, user) if user is not None else None
    speaker = author or blog
    both = await inboxes(session, [blog.row.id, *([author.row.id] if author else [])])
    payload = {"origin": origin}
    if announced is not None:
        if post.published_at > utcnow():
            return 0  # its Create is still to go, and will carry this version
        payload["at"] = utcnow().strftime("%Y%m%d%H%M%S%f")
        return await _queue(
            session,
            "update",
            both,
            actor_id=speaker.row.id,
            post_id=post.id,
            payload=payload,
            replying=_replying(post, origin),
        )
    session.add(Announcement(post_id=post.id, channel=CHANNEL))
    due = max(utcnow(), post.published_at)
    count = await _queue(
        session,
        "create",
        await inboxes(session, [speaker.row.id]),
        actor_id=speaker.row.id,
        post_id=post.id,
        payload=payload,
        due=due,
        replying=_replying(post, origin),
    )
    if author is not None:
        count += await _queue(
            session,
            "announce",
            await inboxes(session, [blog.row.id]),
            actor_id=blog.row.id,
            post_id=post.id,
            payload=payload,
            due=due,
        )
    return count


async def before_delete(session: AsyncSession, post: Post, *, was_at: str | None) -> int:
    """A post about to be deleted: its followers are told, if it was announced."""
    if was_at is None or await session.get(Announcement, (post.id, CHANNEL)) is None:
        return 0
    parts = urlsplit(was_at)
    return await _removal(
        session, post, origin=f"{parts.scheme}://{parts.netloc}", object_id=was_at
    )


async def _removal(session: AsyncSession, post: Post, *, origin: str, object_id: str | None) -> int:
    """Delete rows for a post that is no longer public: to every inbox that may have it.
    Its own waiting rows are dropped first (a Create not yet sent need not be undone)."""
    await session.execute(
        delete(Delivery).where(
            Delivery.channel == CHANNEL,
            Delivery.post_id == post.id,
            Delivery.purpose.in_(("create", "announce", "update")),
            Delivery.attempts == 0,
            Delivery.state == "pending",
        )
    )
    if object_id is None:
        return 0  # it never had a public address: nothing was sent
    blog = await actors.existing(session, None)
    author = await actors.existing(session, post.author_id) if post.author_id else None
    ids = [actor.id for actor in (blog, author) if actor is not None]
    if not ids:
        return 0
    speaker = author or blog
    assert speaker is not None
    payload = {"origin": origin, "at": utcnow().strftime("%Y%m%d%H%M%S%f"), "object": object_id}
    # No post_id: the rows outlive a deleted post, and carry its address instead.
    return await _queue(
        session,
        "delete",
        await inboxes(session, ids),
        actor_id=speaker.id,
        post_id=None,
        payload=payload,
        replying=_replying(post, origin),
    )


def _replying(post: Post, origin: str) -> str:
    """The post this one answers, when it is on another server: its author is told too."""
    answered = post.in_reply_to
    return answered if answered and host_of(answered) != host_of(origin) else ""


async def queue_answer(
    session: AsyncSession, follower: Follower, remote: RemoteActor, kind: str, *, origin: str
) -> None:
    """Accept or Reject a follow: one row to the follower's own inbox."""
    await _queue(
        session,
        kind.lower(),
        [remote.inbox],
        actor_id=follower.actor_id,
        post_id=None,
        payload={"origin": origin, "follow": follower.follow_id, "follower": remote.uri},
    )


async def queue_follow(
    session: AsyncSession,
    following: Following,
    remote: RemoteActor,
    *,
    origin: str,
    undo: bool = False,
) -> None:
    """Follow an account, or (`undo`) stop: one row to its own inbox."""
    await _queue(
        session,
        "unfollow" if undo else "follow",
        [remote.inbox],
        actor_id=following.actor_id,
        post_id=None,
        payload={"origin": origin, "follow": following.follow_id, "object": remote.uri},
    )
