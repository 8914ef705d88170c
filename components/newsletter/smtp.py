"""Mail sent through any SMTP server (aiosmtplib), as the outbox's "mail" sender.

Settings come from the environment (components/settings.py): QUIRE_SMTP_URL
(`smtp://user:password@host:587`, STARTTLS when the server offers it, or `smtps://` for
TLS from the start), QUIRE_MAIL_FROM and QUIRE_MAIL_PER_MINUTE. One connection carries a
whole batch, paced to the rate. A recipient the server refuses for good (a 5xx answer to
RCPT: no such mailbox) is a hard bounce and unsubscribes the address; a 4xx is tried
again later with the outbox's backoff.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from components import site as site_settings
from components.models import (
    Delivery,
    Post,
    PostStatus,
    Subscriber,
    SubscriberState,
    utcnow,
)
from components.newsletter import announce, mail, subscribers, tokens
from components.newsletter.config import MailSettings
from components.outbox import queue
from components.outbox.queue import Outcome

_Row = TypeVar("_Row", Subscriber, Post)
# One message's time, connection included: a server slower than this is tried later.
SMTP_SECONDS = 30.0
# A batch sends no new message after this long, well inside the worker's limit for it
# (components/outbox/worker.SEND_SECONDS): the rest wait for the next batch.
BATCH_SECONDS = 120.0
MAX_BATCH = 100


class Links(Protocol):
    """Absolute addresses, which the web layer knows how to make (components/ does not)."""

    def post(self, post: Post, origin: str) -> str: ...
    def confirm(self, token: str, origin: str) -> str: ...
    def leave(self, token: str, origin: str) -> str: ...
    def home(self, origin: str) -> str: ...


class MailSender:
    """The outbox's sender for the "mail" channel."""

    channel = subscribers.CHANNEL

    def __init__(
        self,
        settings: MailSettings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        secret: str,
        fixed: Mapping[str, object],
        links: Links,
        context: Callable[[], AbstractAsyncContextManager[object]],
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.secret = secret
        self.fixed = fixed
        self.links = links
        # Entered around each batch: where the links can be made (an app context).
        self.context = context
        self.batch = max(1, min(MAX_BATCH, settings.per_minute))
        self._next_send = 0.0

    async def deliver(self, rows: Sequence[Delivery], outcomes: dict[int, Outcome]) -> None:
        async with self.sessions() as session:
            site = await site_settings.load(session, self.fixed)
            readers = await _by_id(session, Subscriber, {r.subscriber_id for r in rows})
            posts = await _by_id(session, Post, {r.post_id for r in rows})
        async with self.context():
            # Off the event loop: making a hundred mails is some milliseconds of CPU each
            # (the first of a post is its HTML and inlined styles), and readers' requests
            # share this loop. The thread sees the context the links are made in.
            messages = await asyncio.to_thread(self._messages, rows, readers, posts, site, outcomes)
        drafts = {
            row.post_id
            for row in rows
            if row.post_id in posts and posts[row.post_id].status is PostStatus.DRAFT
        }
        bounced = await self._send(messages, outcomes)
        if bounced or drafts:

            async def record(session: AsyncSession) -> None:
                for subscriber_id in bounced:
                    await subscribers.bounced(session, subscriber_id)
                for post_id in drafts:
                    await announce.withdraw(session, post_id)

            await queue.in_transaction(self.sessions, record)

    def _messages(
        self,
        rows: Sequence[Delivery],
        readers: Mapping[int, Subscriber],
        posts: Mapping[int, Post],
        site: site_settings.Site,
        outcomes: dict[int, Outcome],
    ) -> list[tuple[Delivery, Subscriber, bytes]]:
        made: dict[tuple[int, str], mail.Made] = {}
        messages = []
        now = utcnow()
        for row in rows:
            reader = readers.get(row.subscriber_id or 0)
            origin = site.base_url or str(row.payload.get("origin", ""))
            if reader is None:
                outcomes[row.id] = Outcome.dropped("the subscriber was removed")
                continue
            if row.purpose == "confirm":
                if reader.state is not SubscriberState.PENDING:
                    outcomes[row.id] = Outcome.dropped(f"the address is {reader.state} now")
                    continue
                token = tokens.make(self.secret, tokens.CONFIRM, reader.id, reader.email)
                confirm = mail.confirm_mail(
                    confirm=self.links.confirm(token, origin),
                    home=self.links.home(origin),
                    site_title=site.title,
                )
                messages.append((row, reader, self._address(confirm, reader, site, origin, None)))
                continue
            post = posts.get(row.post_id or 0)
            if reader.state is not SubscriberState.CONFIRMED:
                outcomes[row.id] = Outcome.dropped(f"the address is {reader.state} now")
                continue
            if post is None or post.status is PostStatus.DRAFT or post.published_at is None:
                outcomes[row.id] = Outcome.dropped("the post is no longer published")
                continue
            if post.published_at > now:
                outcomes[row.id] = Outcome.at(post.published_at)  # rescheduled later
                continue
            key = (post.id, origin)
            if key not in made:
                made[key] = mail.post_mail(
                    post,
                    page=self.links.post(post, origin),
                    home=self.links.home(origin),
                    site_title=site.title,
                    whole=site.newsletter_whole,
                )
            token = tokens.make(self.secret, tokens.LEAVE, reader.id, reader.email)
            leave = self.links.leave(token, origin)
            messages.append((row, reader, self._address(made[key], reader, site, origin, leave)))
        return messages

    def _address(
        self,
        made: mail.Made,
        reader: Subscriber,
        site: site_settings.Site,
        origin: str,
        leave: str | None,
    ) -> bytes:
        # The site's host names the list: the base URL's, else the one the row was made for.
        host = site.host or urlsplit(origin).netloc.lower()
        return mail.addressed(
            made,
            to=reader.email,
            sender=self.settings.sender,
            site_title=site.title,
            leave=leave,
            list_host=host or self.settings.sender.domain,
        )

    async def _send(
        self,
        messages: Sequence[tuple[Delivery, Subscriber, bytes]],
        outcomes: dict[int, Outcome],
    ) -> set[int]:
        """Send each message; the subscribers whose address bounced."""
        bounced: set[int] = set()
        if not messages:
            return bounced
        smtp = self.settings.smtp
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            use_tls=smtp.tls,
            username=smtp.username,
            password=smtp.password,
            timeout=SMTP_SECONDS,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as error:
            for row, _, _ in messages:
                outcomes[row.id] = Outcome.retry(f"cannot reach the mail server: {error}")
            return bounced
        deadline = time.monotonic() + BATCH_SECONDS
        try:
            for index, (row, reader, message) in enumerate(messages):
                if time.monotonic() > deadline:
                    break  # left out: tried again, never sent twice
                await self._pace()
                outcome = await _one(client, self.settings.sender.address, reader.email, message)
                outcomes[row.id] = outcome
                if outcome.error.startswith("refused for good"):
                    bounced.add(reader.id)
                if outcome.error.startswith("connection lost"):
                    for later, _, _ in messages[index + 1 :]:
                        outcomes[later.id] = Outcome.retry(outcome.error)
                    break
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()
        return bounced

    async def _pace(self) -> None:
        # QUIRE_MAIL_PER_MINUTE for this process: one message every 60/rate seconds.
        now = time.monotonic()
        if self._next_send > now:
            await asyncio.sleep(self._next_send - now)
        self._next_send = max(now, self._next_send) + 60 / self.settings.per_minute


async def _one(client: aiosmtplib.SMTP, sender: str, to: str, message: bytes) -> Outcome:
    try:
        await client.sendmail(sender, [to], message)
    except aiosmtplib.SMTPRecipientsRefused as refused:
        codes = [error.code for error in refused.recipients]
        detail = "; ".join(f"{error.code} {error.message}" for error in refused.recipients)
        if codes and all(500 <= code < 600 for code in codes):
            return Outcome.refused(f"refused for good: {detail}")
        return Outcome.retry(f"refused for now: {detail}")
    except aiosmtplib.SMTPResponseException as answer:
        if 500 <= answer.code < 600:
            return Outcome.refused(f"the mail server refused it: {answer.code} {answer.message}")
        return Outcome.retry(f"the mail server said: {answer.code} {answer.message}")
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as lost:
        return Outcome.retry(f"connection lost: {lost}")
    return Outcome.sent()


async def _by_id(session: AsyncSession, model: type[_Row], ids: set[int | None]) -> dict[int, _Row]:
    wanted = [item for item in ids if item is not None]
    if not wanted:
        return {}
    found = await session.scalars(select(model).where(model.id.in_(wanted)))
    return {item.id: item for item in found}
