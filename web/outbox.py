"""The outbox worker of this server process (components/outbox/worker.py), with the
senders this configuration has: mail when QUIRE_SMTP_URL and QUIRE_MAIL_FROM are set;
Webmentions (sent, and received ones verified) and ActivityPub activities always.

It runs while the app serves, beside the requests, and stops with it: a batch cut short
by the shutdown leaves its rows leased, and another process (or this one, restarted)
takes them up when the lease ends. The links in mails are made here, in an app context
of their own, on the site's base URL or else on the address the writer's or reader's
request came to (kept in each row).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator

from quart import Quart, url_for

from components.activitypub.sending import ActivitySender
from components.models import Post
from components.newsletter.smtp import MailSender
from components.outbox.worker import Sender, Worker
from components.webmention.sending import WebmentionSender
from components.webmention.verifying import VerifySender
from web.database import SESSIONMAKER
from web.federation import Links
from web.urls import post_url

OUTBOX = "quire.outbox"


def init_app(app: Quart) -> None:
    @app.while_serving
    async def run_outbox() -> AsyncGenerator[None, None]:
        worker = make_worker(app)
        app.extensions[OUTBOX] = worker
        task = None
        if app.config["OUTBOX_WORKER"] and worker.senders:
            task = asyncio.create_task(worker.run(), name="outbox")
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        app.extensions.pop(OUTBOX, None)


def make_worker(app: Quart) -> Worker:
    """A worker with a sender for each channel this configuration can send on."""
    sessions = app.extensions[SESSIONMAKER]
    senders: list[Sender] = []
    if app.config["MAIL"] is not None:
        senders.append(
            MailSender(
                app.config["MAIL"],
                sessions,
                secret=app.config["SECRET_KEY"],
                fixed=app.config["SITE_FIXED"],
                links=_Links(),
                context=lambda: _links_context(app),
            )
        )
    private = app.config["FETCH_PRIVATE"]
    senders.append(
        WebmentionSender(
            sessions,
            post_url=_Links().post,
            context=lambda: _links_context(app),
            allow_private=private,
        )
    )
    senders.append(VerifySender(sessions, allow_private=private))
    senders.append(
        ActivitySender(
            sessions, links=Links, context=lambda: _links_context(app), allow_private=private
        )
    )
    return Worker(sessions, senders, idle=app.config["OUTBOX_IDLE_MS"] / 1000)


@contextlib.asynccontextmanager
async def _links_context(app: Quart) -> AsyncIterator[None]:
    async with app.test_request_context("/"):
        yield


class _Links:
    """Absolute addresses for mails: the origin (scheme and host) before our own paths."""

    def post(self, post: Post, origin: str) -> str:
        return origin + post_url(post)

    def confirm(self, token: str, origin: str) -> str:
        return origin + url_for("newsletter.confirm_form", token=token)

    def leave(self, token: str, origin: str) -> str:
        return origin + url_for("newsletter.leave_form", token=token)

    def home(self, origin: str) -> str:
        return origin + url_for("blog.home")
