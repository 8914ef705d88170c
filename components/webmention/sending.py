"""The outbox's "webmention" sender: for each row, find the target page's endpoint and
tell it that the post (the source) links to the page, or, for a post taken down, that
the source changed (it now answers 404, and the receiver removes the mention).

A page with no endpoint is not an error: the row is done. A 4xx from the endpoint is a
refusal for good; a 5xx, a timeout or a refused connection is tried again later. A post
that is no longer public sends nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from components import fetch
from components.models import Delivery, Post, PostStatus, utcnow
from components.outbox.queue import Outcome
from components.webmention import links
from components.webmention.outgoing import CHANNEL

# Targets fetched at once: each may be a different site, and a slow one holds only its own.
AT_ONCE = 8


class WebmentionSender:
    channel = CHANNEL
    batch = 40

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        post_url: Callable[[Post, str], str],
        context: Callable[[], AbstractAsyncContextManager[object]],
        allow_private: bool = False,
    ) -> None:
        self.sessions = sessions
        self.post_url = post_url
        self.context = context
        self.allow_private = allow_private

    async def deliver(self, rows: Sequence[Delivery], outcomes: dict[int, Outcome]) -> None:
        async with self.sessions() as session:
            ids = {row.post_id for row in rows if row.post_id is not None}
            posts = {
                post.id: post
                for post in await session.scalars(select(Post).where(Post.id.in_(ids)))
            }
        sources: dict[int, str] = {}
        now = utcnow()
        async with self.context():
            for row in rows:
                post = posts.get(row.post_id or 0)
                if row.purpose == "removal":
                    sources[row.id] = str(row.payload.get("source", ""))
                elif post is None or post.status is PostStatus.DRAFT or post.published_at is None:
                    outcomes[row.id] = Outcome.dropped("the post is no longer published")
                elif post.published_at > now:
                    outcomes[row.id] = Outcome.at(post.published_at)
                else:
                    sources[row.id] = self.post_url(post, str(row.payload.get("origin", "")))
        limit = asyncio.Semaphore(AT_ONCE)
        async with fetch.client(allow_private=self.allow_private) as http:

            async def one(row: Delivery) -> None:
                async with limit:
                    try:
                        outcomes[row.id] = await _mention(
                            http, sources[row.id], str(row.payload.get("target", ""))
                        )
                    except Exception as error:  # a hostile page: its row only
                        outcomes[row.id] = Outcome.refused(
                            f"the target could not be read ({type(error).__name__})"
                        )

            await asyncio.gather(*(one(row) for row in rows if row.id in sources))


async def _mention(http: httpx.AsyncClient, source: str, target: str) -> Outcome:
    try:
        page = await fetch.get(http, target)
    except fetch.Refused as refused:
        fail = Outcome.refused if refused.permanent else Outcome.retry
        return fail(f"the target: {refused}")
    if page.status >= 400:
        if page.status >= 500:
            return Outcome.retry(f"the target answered {page.status}")
        return Outcome.dropped(f"the target answered {page.status}")
    endpoint = links.endpoint(page)
    if endpoint is None:
        return Outcome.dropped("the target has no Webmention endpoint")
    try:
        status = await fetch.post_form(http, endpoint, {"source": source, "target": target})
    except fetch.Refused as refused:
        fail = Outcome.refused if refused.permanent else Outcome.retry
        return fail(f"the endpoint: {refused}")
    if 200 <= status < 300:
        return Outcome.sent()
    if 400 <= status < 500:
        return Outcome.refused(f"the endpoint refused it: {status}")
    return Outcome.retry(f"the endpoint answered {status}")
