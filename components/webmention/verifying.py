"""The outbox's "mention-in" sender: a received Webmention verified and moderated.

The source is fetched (components/fetch.py: public addresses only, a size and a time
limit). If it no longer links to the target, or is gone, a mention it made before is
taken down. Otherwise its microformats (mf2py) say what it is: a reply or a mention,
shown as a comment once approved; or a like or a repost, counted. Either way it waits
in the comment queue, with the author its h-card names and the text of its h-entry,
rendered by the same rules as a comment (components/comments/markup.py). An update
from the same source replaces the text and is moderated again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import mf2py
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from components import fetch
from components.comments import events
from components.comments.intake import MAX_BODY
from components.comments.markup import render
from components.models import (
    Comment,
    CommentEventKind,
    CommentKind,
    CommentStatus,
    Delivery,
)
from components.outbox import queue
from components.outbox.queue import Outcome
from components.webmention import links
from components.webmention.incoming import CHANNEL

MAX_NAME = 100
# A page with more elements than this is not parsed: parsing it would take seconds of
# CPU in a thread that cannot be stopped. Blog posts have a few thousand at most.
MAX_ELEMENTS = 20_000
MAX_AUTHOR_URL = 300


@dataclass(frozen=True)
class Mention:
    kind: CommentKind
    author_name: str
    author_url: str
    text: str


class VerifySender:
    channel = CHANNEL
    batch = 20

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, allow_private: bool = False
    ) -> None:
        self.sessions = sessions
        self.allow_private = allow_private

    async def deliver(self, rows: Sequence[Delivery], outcomes: dict[int, Outcome]) -> None:
        found: dict[int, Mention | None] = {}
        async with fetch.client(allow_private=self.allow_private) as http:

            async def one(row: Delivery) -> None:
                source = str(row.payload.get("source", ""))
                target = str(row.payload.get("target", ""))
                try:
                    page = await fetch.get(http, source)
                except fetch.Refused as refused:
                    # A name that does not resolve, a private address, a page too large
                    # will not change: failed now, not kept waiting (and counted) for days.
                    fail = Outcome.refused if refused.permanent else Outcome.retry
                    outcomes[row.id] = fail(f"the source: {refused}")
                    return
                if page.status >= 500:
                    outcomes[row.id] = Outcome.retry(f"the source answered {page.status}")
                    return
                if page.status >= 400:
                    found[row.id] = None
                    return
                try:
                    found[row.id] = await asyncio.to_thread(read, page, target)
                except Exception as error:  # a hostile page: its row only, never the batch
                    outcomes[row.id] = Outcome.refused(
                        f"the source could not be read ({type(error).__name__})"
                    )

            await asyncio.gather(*(one(row) for row in rows))

        async def record(session: AsyncSession) -> None:
            for row in rows:
                if row.id in found and row.post_id is not None:
                    source = str(row.payload.get("source", ""))
                    await _store(session, row.post_id, source, found[row.id], row.payload)
                    outcomes[row.id] = Outcome.sent()

        await queue.in_transaction(self.sessions, record)


def read(page: fetch.Fetched, target: str) -> Mention | None:
    """What the page says about `target`; None when it does not link to it. Raises on a
    page built to hurt the parsers (too many elements, nested too deep)."""
    if page.body.count(b"<") > MAX_ELEMENTS:
        raise ValueError(f"more than {MAX_ELEMENTS:,} elements")
    if not links.links_to(page, target):
        return None
    parsed = mf2py.parse(doc=page.text, url=page.url)
    entry = _first_entry(parsed.get("items", []))
    host = urlsplit(page.url).netloc
    if entry is None:
        return Mention(CommentKind.MENTION, host, page.url, f"Mentioned this on {host}.")
    properties = entry.get("properties", {})
    kind = CommentKind.MENTION
    if _names(properties.get("like-of", []), target):
        kind = CommentKind.LIKE
    elif _names(properties.get("repost-of", []), target):
        kind = CommentKind.REPOST
    name, url = _author(properties.get("author", []), host, page.url)
    if kind is CommentKind.MENTION and not _names(properties.get("in-reply-to", []), target):
        # Not a reply: the page's own title says where the post was mentioned, rather
        # than all of its text.
        title = _text({"name": properties.get("name", [])})
        text = f"Mentioned this in “{title}”." if title else _text(properties)
    else:
        text = _text(properties)
    text = text or f"Mentioned this on {host}."
    return Mention(kind, name[:MAX_NAME], url[:MAX_AUTHOR_URL], text[:MAX_BODY])


def _first_entry(items: list[Any]) -> dict[str, Any] | None:
    for item in items:
        if not isinstance(item, dict):
            continue
        if "h-entry" in item.get("type", []):
            return item
        if (child := _first_entry(item.get("children", []))) is not None:
            return child
    return None


def _urls(values: list[Any]) -> list[str]:
    found = []
    for value in values:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            found += [u for u in value.get("properties", {}).get("url", []) if isinstance(u, str)]
            if isinstance(value.get("value"), str):
                found.append(value["value"])
    return found


def _names(values: list[Any], target: str) -> bool:
    return any(url.rstrip("/") == target.rstrip("/") for url in _urls(values))


def _author(values: list[Any], host: str, page: str) -> tuple[str, str]:
    for value in values:
        if isinstance(value, str) and value.strip():
            return (value.strip(), page) if "://" not in value else (host, value.strip())
        if isinstance(value, dict):
            props = value.get("properties", {})
            name = next((n for n in props.get("name", []) if isinstance(n, str)), host)
            url = next((u for u in props.get("url", []) if isinstance(u, str)), page)
            return " ".join(name.split()) or host, url
    return host, page


def _text(properties: dict[str, Any]) -> str:
    for name in ("content", "summary", "name"):
        for value in properties.get(name, []):
            text = value.get("value") if isinstance(value, dict) else value
            if isinstance(text, str) and text.strip():
                return " ".join(text.split())
    return ""


async def _store(
    session: AsyncSession,
    post_id: int,
    source: str,
    mention: Mention | None,
    payload: Mapping[str, Any],
) -> None:
    existing = await session.scalar(
        select(Comment).where(Comment.post_id == post_id, Comment.source_url == source)
    )
    if mention is None:
        if existing is not None:
            # The page no longer links here, or is gone: its mention goes too.
            if existing.status is CommentStatus.APPROVED:
                await events.record(session, existing, CommentEventKind.WITHDRAWN)
            await session.delete(existing)
            await session.flush()
        return
    if existing is None:
        existing = Comment(post_id=post_id, source_url=source, ip=str(payload.get("ip", ""))[:45])
        session.add(existing)
    elif existing.body == mention.text and existing.kind is mention.kind:
        return  # sent again, unchanged
    elif existing.status is CommentStatus.APPROVED:
        await events.record(session, existing, CommentEventKind.WITHDRAWN)
    existing.kind = mention.kind
    existing.author_name = mention.author_name
    existing.author_url = mention.author_url if _is_web(mention.author_url) else ""
    existing.body = mention.text
    existing.body_html = render(mention.text)
    existing.status = CommentStatus.PENDING
    await session.flush()
    await events.record(session, existing, CommentEventKind.RECEIVED)
    await session.flush()


def _is_web(url: str) -> bool:
    return urlsplit(url).scheme in ("http", "https")
