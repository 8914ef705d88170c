"""The outbox's "activitypub" sender: each row's activity made from the post as it is
now, signed by its actor (HTTP Signatures, as Mastodon checks them) and posted to the
inbox.

A 2xx is done. 4xx is a refusal for good (but 408 and 429: later); 5xx, a timeout or a
refused connection is tried again with the outbox's backoff. A post that is no longer
public sends nothing; one scheduled waits for its time. Signing takes a millisecond of
CPU or so per request: a batch is signed in a thread, not on the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import selectinload

from components import fetch
from components.activitypub import actors, documents, remote, signatures
from components.activitypub.delivery import CHANNEL
from components.models import Delivery, LocalActor, Post, PostStatus, utcnow
from components.outbox import queue
from components.outbox.queue import Outcome

# Inboxes posted to at once: each may be a different server, a slow one holds only its own.
AT_ONCE = 16
CONTENT_TYPE = documents.LD_TYPE


class ActivitySender:
    channel = CHANNEL
    batch = 100

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        links: Callable[[str], documents.Links],
        context: Callable[[], AbstractAsyncContextManager[object]],
        allow_private: bool = False,
    ) -> None:
        self.sessions = sessions
        self.links = links  # the site's links for an origin
        self.context = context
        self.allow_private = allow_private

    async def deliver(self, rows: Sequence[Delivery], outcomes: dict[int, Outcome]) -> None:
        async with fetch.client(allow_private=self.allow_private) as http:
            replied = await self._replied(http, rows, outcomes)
            rows = [row for row in rows if row.id not in outcomes]
            bodies = await self._activities(rows, outcomes, replied)
            keys = await self._keys(rows)
            requests: dict[int, tuple[str, bytes, dict[str, str]]] = {}

            def sign_all() -> None:
                for row in rows:
                    if row.id in bodies:
                        actor, body = bodies[row.id]
                        inbox = replied[row.id][0] if row.id in replied else row.payload["inbox"]
                        headers = signatures.sign(
                            "POST",
                            inbox,
                            key_id=documents.key_id(actor),
                            private_pem=keys[int(row.payload["actor"])],
                            body=body,
                        )
                        requests[row.id] = (inbox, body, headers)

            await asyncio.to_thread(sign_all)
            limit = asyncio.Semaphore(AT_ONCE)

            async def one(row_id: int) -> None:
                async with limit:
                    inbox, body, headers = requests[row_id]
                    try:
                        outcomes[row_id] = await _post(http, inbox, body, headers)
                    except Exception as error:  # a hostile server: its row only
                        outcomes[row_id] = Outcome.retry(
                            f"the inbox could not be reached ({type(error).__name__})"
                        )

            await asyncio.gather(*(one(row_id) for row_id in requests))

    async def _replied(
        self, http: httpx.AsyncClient, rows: Sequence[Delivery], outcomes: dict[int, Outcome]
    ) -> dict[int, tuple[str, str]]:
        """For each row to the author of a post ours answers: their inbox, and that post's
        id; an outcome instead when there is no one to tell (yet)."""
        found: dict[int, tuple[str, str]] = {}
        signers: dict[str, actors.FetchSigner] = {}
        for row in rows:
            via = row.payload.get("via")
            if not via:
                continue
            origin = str(row.payload.get("origin", ""))
            if origin not in signers:
                async with self.context():
                    blog_uri = self.links(origin).actor(actors.BLOG)
                signers[origin] = actors.FetchSigner(self.sessions, blog_uri)

            async def look(
                session: AsyncSession, via: str = str(via), sign: Any = signers[origin]
            ) -> tuple[str, str]:
                author, object_id = await remote.author_of(session, http, via, sign=sign)
                return author.inbox, object_id

            try:
                found[row.id] = await queue.in_transaction(self.sessions, look)
            except remote.Unreadable as unreadable:
                if unreadable.permanent:
                    outcomes[row.id] = Outcome.dropped(f"no fediverse author to tell: {unreadable}")
                else:
                    outcomes[row.id] = Outcome.retry(f"the post answered: {unreadable}")
        return found

    async def _keys(self, rows: Sequence[Delivery]) -> dict[int, Any]:
        ids = {int(row.payload.get("actor", 0)) for row in rows}
        async with self.sessions() as session:
            found = await session.scalars(select(LocalActor).where(LocalActor.id.in_(ids)))
            pems = {actor.id: actor.private_pem for actor in found}
        return {actor_id: signatures.load_private(pem) for actor_id, pem in pems.items()}

    async def _activities(
        self,
        rows: Sequence[Delivery],
        outcomes: dict[int, Outcome],
        replied: dict[int, tuple[str, str]],
    ) -> dict[int, tuple[str, bytes]]:
        """Each row's actor address and activity body; an outcome instead for a row
        with nothing to send (yet)."""
        async with self.sessions() as session:
            post_ids = {row.post_id for row in rows if row.post_id is not None}
            posts = {
                post.id: post
                for post in await session.scalars(
                    select(Post).where(Post.id.in_(post_ids)).options(selectinload(Post.tags))
                )
            }
            actor_ids = {int(row.payload.get("actor", 0)) for row in rows}
            names = {
                actor.id: actor.username
                for actor in await session.scalars(
                    select(LocalActor).where(LocalActor.id.in_(actor_ids))
                )
            }
            authors = {post.id: await _author_name(session, post) for post in posts.values()}
        made: dict[int, tuple[str, bytes]] = {}
        now = utcnow()
        async with self.context():
            for row in rows:
                username = names.get(int(row.payload.get("actor", 0)))
                if username is None:
                    outcomes[row.id] = Outcome.dropped("its actor is gone")
                    continue
                links = self.links(str(row.payload.get("origin", "")))
                actor = links.actor(username)
                post = posts.get(row.post_id or 0)
                activity: dict[str, Any]
                if row.purpose in ("accept", "reject"):
                    follow = {
                        "id": row.payload.get("follow"),
                        "type": "Follow",
                        "actor": row.payload.get("follower"),
                        "object": actor,
                    }
                    activity = documents.answer(
                        row.purpose.capitalize(), follow, actor=actor, number=row.id
                    )
                elif row.purpose in ("follow", "unfollow"):
                    activity = documents.follow(
                        str(row.payload.get("follow", "")),
                        actor=actor,
                        whom=str(row.payload.get("object", "")),
                    )
                    if row.purpose == "unfollow":
                        activity = documents.undo(activity, actor=actor)
                elif row.purpose == "delete":
                    activity = documents.delete(
                        str(row.payload.get("object", "")),
                        actor=actor,
                        at=str(row.payload.get("at")),
                    )
                elif post is None or post.status is PostStatus.DRAFT or post.published_at is None:
                    outcomes[row.id] = Outcome.dropped("the post is no longer published")
                    continue
                elif post.published_at > now:
                    outcomes[row.id] = Outcome.at(post.published_at)
                    continue
                else:
                    author = links.actor(authors.get(post.id) or username)
                    article = documents.article(post, links, author=author)
                    if row.id in replied:
                        article["inReplyTo"] = replied[row.id][1]  # its id, not its page
                    if row.purpose == "announce":
                        activity = documents.announce(article["id"], actor=actor)
                    elif row.purpose == "update":
                        activity = documents.update(
                            article, actor=actor, at=str(row.payload.get("at"))
                        )
                    else:
                        activity = documents.create(article, actor=actor)
                made[row.id] = (actor, json.dumps(activity).encode())
        return made


async def _author_name(session: AsyncSession, post: Post) -> str | None:
    """The username of the actor a post is attributed to: its author's, else the blog's."""
    row = await actors.existing(session, post.author_id)
    if row is None:
        row = await actors.existing(session, None)
    return row.username if row is not None else None


async def _post(
    http: httpx.AsyncClient, inbox: str, body: bytes, headers: dict[str, str]
) -> Outcome:
    try:
        status = await fetch.post_body(
            http, inbox, body, headers={**headers, "Content-Type": CONTENT_TYPE}
        )
    except fetch.Refused as refused:
        fail = Outcome.refused if refused.permanent else Outcome.retry
        return fail(f"the inbox: {refused}")
    if 200 <= status < 300:
        return Outcome.sent()
    if status in (408, 429) or status >= 500:
        return Outcome.retry(f"the inbox answered {status}")
    return Outcome.refused(f"the inbox refused it: {status}")
