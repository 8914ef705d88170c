"""Benchmark (not a test): mailing a new post to N subscribers through a local SMTP server.

    .venv/bin/python -m bench.mailing [--subscribers 10000] [--database-url URL]

Seeds N confirmed subscribers into a migrated database (SQLite in a temporary folder
unless --database-url names a PostgreSQL database, which is emptied first), publishes a
post of code and prose as the editor does (the announcement's rows are written by the
publishing transaction: its time is printed), then runs the outbox worker, as a server
process runs it, until every mail has reached an aiosmtpd server on 127.0.0.1 that keeps
nothing. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import insert

from bench.import_files import empty_postgres, quire
from bench.rendering import a_post
from components.db import make_engine, make_sessionmaker
from components.models import Post, PostStatus, Subscriber, SubscriberState, utcnow
from components.newsletter import announce
from components.newsletter.config import MailSettings, Sender, Smtp
from components.newsletter.smtp import MailSender
from components.outbox.worker import Worker
from components.saving import Content, write
from components.text import slugify


class Counter:
    """An SMTP server that counts what it is sent and keeps nothing."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


class Links:
    def post(self, post: Post, origin: str) -> str:
        return f"{origin}/{post.published_at:%Y/%m/%d}/{post.slug}"

    def confirm(self, token: str, origin: str) -> str:
        return f"{origin}/subscribe/confirm/{token}"

    def leave(self, token: str, origin: str) -> str:
        return f"{origin}/unsubscribe/{token}"

    def home(self, origin: str) -> str:
        return f"{origin}/"


@asynccontextmanager
async def nothing() -> Any:
    yield None


async def run(url: str, subscribers: int, port: int) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            rows = [
                {"email": f"reader{n}@example.org", "state": SubscriberState.CONFIRMED}
                for n in range(subscribers)
            ]
            await session.execute(insert(Subscriber), rows)
        body = a_post(0).split("```mermaid")[0]  # code and prose; no Node here
        async with sessions() as session:
            started = time.perf_counter()
            async with session.begin():
                content = Content(
                    title="A new post",
                    slug=slugify("A new post"),
                    body=body,
                    status=PostStatus.PUBLISHED,
                    published_at=utcnow(),
                )
                post = await write(session, None, content, author=None, revision=None)
                rendered = time.perf_counter()
                queued = await announce.after_save(
                    session, post, was_draft=True, origin="http://blog.example"
                )
            publishing = time.perf_counter() - started
            queueing = time.perf_counter() - rendered
        print(
            f"publishing the post, with {queued:,} mails queued: {publishing * 1000:.0f} ms "
            f"(the mails' rows and the commit: {queueing * 1000:.0f} ms)"
        )

        counter = Counter()
        controller = Controller(counter, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            settings = MailSettings(
                smtp=Smtp(host="127.0.0.1", port=port, tls=False),
                sender=Sender("blog@example.com"),
                per_minute=1_000_000,
            )
            sender = MailSender(
                settings, sessions, secret="x" * 48, fixed={}, links=Links(), context=nothing
            )
            worker = Worker(sessions, [sender])
            started = time.perf_counter()
            while await worker.run_once():
                pass
            elapsed = time.perf_counter() - started
        finally:
            controller.stop()
        assert counter.count == subscribers, (counter.count, subscribers)
        print(
            f"mailing {subscribers:,} subscribers (one worker): {elapsed:.1f} s, "
            f"{subscribers / elapsed:,.0f} mails/s"
        )
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--database-url", help="a PostgreSQL database to empty and use")
    parser.add_argument("--smtp-port", type=int, default=2526)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="quire-bench-mail-") as temporary:
        folder = Path(temporary)
        url = options.database_url or f"sqlite+aiosqlite:///{folder / 'mail.db'}"
        if options.database_url:
            asyncio.run(empty_postgres(url))
        env = {**os.environ, "DATABASE_URL": url, "QUIRE_INSTANCE_PATH": str(folder)}
        quire(env, "db", "upgrade")
        backend = "PostgreSQL" if options.database_url else "SQLite"
        print(f"New post by email to {options.subscribers:,} subscribers on {backend}")
        asyncio.run(run(url, options.subscribers, options.smtp_port))


if __name__ == "__main__":
    main()
