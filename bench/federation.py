"""Benchmark (not a test): one post delivered to 10,000 fediverse followers on 100
servers, and what readers' pages keep of their speed meanwhile.

    .venv/bin/python -m bench.federation [--followers 10000] [--servers 100]
                                         [--database-url URL] [--seconds 10]

A copy of the 20-post page seed gets the blog's actor and N accepted followers spread
over S stand-in servers: asyncio listeners on 127.0.0.1, in a process of their own,
that answer every POST 202 and count those whose Digest matches their body and that
carry a Signature. Quire runs as in production, under `quire serve` with two workers,
each with its outbox worker. QUIRE_ENV is development only because QUIRE_FETCH_PRIVATE
(loopback inboxes) is refused in production.

Two rounds:
1. Without shared inboxes: one signed POST per follower (N rows), as servers that offer
   no shared inbox cost. wrk reads the home page for --seconds before the post, then
   again while the rows are sent; the ratio of the two is what readers keep.
2. With shared inboxes: one POST per server (S rows), as Mastodon servers are reached.

Nothing leaves 127.0.0.1; every process it starts, it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import multiprocessing
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bench.import_files import empty_postgres
from bench.pages import (
    HOST,
    QUIRE_PORT,
    Page,
    Run,
    _seed_into,
    quire_command,
    server_env,
    serving,
    sqlite_database,
    wrk,
)
from components.activitypub import actors, delivery
from components.db import make_engine, make_sessionmaker
from components.models import (
    Delivery,
    DeliveryState,
    Follower,
    FollowerState,
    PostStatus,
    RemoteActor,
    utcnow,
)
from components.saving import Content, write
from components.text import slugify

HOME = Page("home", "/", {"Accept": "text/html", "Accept-Encoding": "br, gzip"})
DEADLINE_SECONDS = 900


# --- the stand-in servers ------------------------------------------------------------


class Inbox(asyncio.Protocol):
    """Just enough HTTP/1.1 for keep-alive POSTs: each answered 202, and counted when
    it is signed and its Digest is its body's."""

    def __init__(self, counted: Any) -> None:
        self.counted = counted
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            headers = {}
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"0"))
            if len(rest) < length:
                return
            body, self.buffer = rest[:length], rest[length:]
            digest = b"SHA-256=" + base64.b64encode(hashlib.sha256(body).digest())
            if headers.get(b"digest") == digest and b"signature" in headers:
                with self.counted.get_lock():
                    self.counted.value += 1
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")


def run_servers(count: int, counted: Any, ports: Any, ready: Any) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(lambda: Inbox(counted), HOST, 0) for _ in range(count)]
        for number, server in enumerate(servers):
            ports[number] = server.sockets[0].getsockname()[1]
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(serve())


# --- the blog ------------------------------------------------------------------------


async def add_followers(url: str, ports: list[int], followers: int) -> None:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            blog = await actors.blog(session)
            remotes = [
                {
                    "uri": f"http://{HOST}:{ports[n % len(ports)]}/users/u{n}",
                    "inbox": f"http://{HOST}:{ports[n % len(ports)]}/users/u{n}/inbox",
                    "shared_inbox": "",
                    "handle": f"@u{n}@{HOST}:{ports[n % len(ports)]}",
                    "fetched_at": utcnow(),
                }
                for n in range(followers)
            ]
            await session.execute(insert(RemoteActor), remotes)
            ids = list(await session.scalars(select(RemoteActor.id)))
            await session.execute(
                insert(Follower),
                [
                    {
                        "actor_id": blog.row.id,
                        "remote_id": remote_id,
                        "follow_id": f"follow-{remote_id}",
                        "state": FollowerState.ACCEPTED,
                        "created_at": utcnow(),
                    }
                    for remote_id in ids
                ],
            )
    finally:
        await engine.dispose()


async def share_inboxes(url: str) -> None:
    """Every follower's server offers its shared inbox: /inbox on its port."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            for remote in list(await session.scalars(select(RemoteActor))):
                remote.shared_inbox = remote.inbox.split("/users/")[0] + "/inbox"
    finally:
        await engine.dispose()


async def publish(url: str, title: str, origin: str) -> tuple[int, float]:
    """A post published as the editor would, its deliveries queued in the same
    transaction: how many rows, and how long the queueing and the commit took."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            async with session.begin():
                content = Content(
                    title=title,
                    slug=slugify(title),
                    body="A post for every follower.\n\n```python\nprint('hello')\n```\n",
                    status=PostStatus.PUBLISHED,
                    published_at=utcnow(),
                )
                post = await write(session, None, content, author=None, revision=None)
                started = time.perf_counter()
                queued = await delivery.after_save(session, post, origin=origin)
            return queued, time.perf_counter() - started
    finally:
        await engine.dispose()


async def pending(url: str) -> int:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await _pending(session)
    finally:
        await engine.dispose()


async def _pending(session: AsyncSession) -> int:
    rows = await session.scalars(
        select(Delivery.id).where(
            Delivery.channel == delivery.CHANNEL, Delivery.state == DeliveryState.PENDING
        )
    )
    return len(list(rows))


def wait_for(counted: Any, expected: int) -> float:
    """Seconds until the stand-ins have counted `expected` deliveries."""
    started = time.monotonic()
    while counted.value < expected:
        if time.monotonic() - started > DEADLINE_SECONDS:
            raise SystemExit(f"bench: {counted.value:,} of {expected:,} delivered in time")
        time.sleep(0.05)
    return time.monotonic() - started


def measure(options: argparse.Namespace, url: str, instance: Path) -> None:
    counted = multiprocessing.Value("l", 0)
    ports = multiprocessing.Array("i", options.servers)
    ready = multiprocessing.Event()
    servers = multiprocessing.Process(
        target=run_servers, args=(options.servers, counted, ports, ready), daemon=True
    )
    servers.start()
    try:
        if not ready.wait(60):
            raise SystemExit("bench: the stand-in servers did not start")
        asyncio.run(add_followers(url, list(ports), options.followers))
        env = server_env(url, instance)
        env.update(
            {
                "QUIRE_ENV": "development",
                "QUIRE_FETCH_PRIVATE": "on",
                "QUIRE_OUTBOX_IDLE_MS": "100",
            }
        )
        command = quire_command("hypercorn", QUIRE_PORT, env, "--workers", "2")
        origin = f"http://{HOST}:{QUIRE_PORT}"
        with serving(command, env, QUIRE_PORT, "/") as server:
            workers = server.workers()
            wrk(QUIRE_PORT, HOME, 3, 64, workers)  # warm-up
            idle = wrk(QUIRE_PORT, HOME, options.seconds, 64, workers)
            queued, took = asyncio.run(publish(url, "To every follower", origin))
            during: list[Run] = []
            reader = threading.Thread(
                target=lambda: during.append(wrk(QUIRE_PORT, HOME, options.seconds, 64, workers))
            )
            reader.start()
            elapsed = wait_for(counted, queued)
            reader.join()
            print(
                f"1. {options.followers:,} followers on {options.servers} servers, no shared "
                f"inboxes: {queued:,} rows queued and committed in {took * 1000:.0f} ms; "
                f"all signed and delivered in {elapsed:.1f} s ({queued / elapsed:,.0f} a second)"
            )
            ratio = during[0].rps / idle.rps
            overlap = min(1.0, elapsed / options.seconds)
            print(
                f"   home page: {idle.rps:,.0f} req/s before, {during[0].rps:,.0f} while "
                f"delivering: {ratio:.2f} of it kept (p99 {idle.p99_ms:.1f} -> "
                f"{during[0].p99_ms:.1f} ms; the deliveries ran for {overlap:.0%} of the run)"
            )
            asyncio.run(share_inboxes(url))
            counted.value = 0
            queued, took = asyncio.run(publish(url, "To every server", origin))
            elapsed = wait_for(counted, queued)
            print(
                f"2. the same followers with shared inboxes: {queued:,} rows queued in "
                f"{took * 1000:.0f} ms; delivered in {elapsed:.2f} s"
            )
            left = asyncio.run(pending(url))
            if left:
                print(f"   ({left:,} rows still pending: none should be)")
    finally:
        servers.terminate()
        servers.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--servers", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--database-url", help="a PostgreSQL database to empty and use")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="quire-bench-federation-") as temporary:
        folder = Path(temporary)
        if options.database_url:
            url = options.database_url
            asyncio.run(empty_postgres(url))
            asyncio.run(_seed_into(url, 20))
        else:
            url = sqlite_database(20, folder)
        backend = "PostgreSQL" if options.database_url else "SQLite"
        print(
            f"One post to {options.followers:,} fediverse followers on {options.servers} "
            f"servers, on {backend}, Quire under quire serve with 2 workers "
            f"({os.cpu_count()} cores)"
        )
        measure(options, url, folder)


if __name__ == "__main__":
    main()
