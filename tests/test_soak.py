"""A bounded soak: Quire under `quire serve` with four workers, 50 clients reading and
commenting at once while a writer saves posts and `quire import` runs, then SIGTERM in
the middle of it.

Afterwards: no 5xx at any point, every comment the server acknowledged is stored
exactly once, SQLite's file is intact, the requests in flight at SIGTERM completed,
event streams were ended at once rather than held for the graceful timeout, and the
server exited cleanly.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import re
import signal
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text, update

from cli.serve import SHUTDOWN_MARGIN_SECONDS
from components import accounts, demo
from components.comments.stamps import issue_stamp
from components.db import is_sqlite
from components.models import Comment, Post, Role
from tests.conftest import (
    DEADLINE_SECONDS,
    QUIRE,
    TEST_PASSWORD,
    TEST_SECRET,
    fresh_database,
    post_address,
    reset_database,
    server_end,
    session_on,
    start_quire,
    stop_quire,
)
from tests.portability import stamp_as_migrated

pytestmark = pytest.mark.soak

CLIENTS = 50
IMPORTED = 200
WRITER = "writer@example.com"
WORKERS = 4
LOAD_SECONDS = 10.0
WRITER_PATIENCE = 60.0  # most the load waits, past LOAD_SECONDS, for the writer's first save
# Long, so that only something holding the server (an event stream left open) runs it out:
# stopping takes a few seconds here, and ten times that on a busy CI machine.
GRACEFUL_SECONDS = 120
SETTINGS = {
    "QUIRE_COMMENT_MODERATION": "none",
    "QUIRE_COMMENT_MIN_SECONDS": "0",
    "QUIRE_COMMENTS_PER_IP": "10000",
    "QUIRE_GRACEFUL_TIMEOUT": str(GRACEFUL_SECONDS),
    "QUIRE_LOG_LEVEL": "warning",
}
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}
# One TLS context for all the clients (they speak plain HTTP to loopback anyway): httpx
# builds a new one per client otherwise, some 50 ms each, and fifty clients starting
# at once would stall the test's event loop for seconds, so that what the test sends
# "before SIGTERM" would in fact leave after it.
TLS = ssl.create_default_context()


def client_for(base: str, **options: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, verify=TLS, **options)


@dataclass
class Tally:
    phase: str
    statuses: Counter[int] = field(default_factory=Counter)
    acknowledged: list[str] = field(default_factory=list)
    # Comments whose answer never came (the server was stopping): stored at most once.
    unanswered: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    sequence: itertools.count[int] = field(default_factory=itertools.count)


async def seed(database_url: str) -> list[str]:
    """The demo posts, open to comments, and a writer; the published posts' addresses."""
    await reset_database(database_url)
    await stamp_as_migrated(database_url)  # `quire import` insists on a migrated database
    async with session_on(database_url) as session:
        await demo.load(session)
        await accounts.create_user(
            session, email=WRITER, name="Soak Writer", password=TEST_PASSWORD, role=Role.AUTHOR
        )
        await session.execute(update(Post).values(comments_enabled=True))
        await session.commit()
        found = await session.scalars(select(Post).where(Post.published_at.is_not(None)))
        return [post_address(post) for post in found]


def comment_form(body: str) -> dict[str, str]:
    stamp = issue_stamp(TEST_SECRET, time.time() - 60)
    return {"name": "Soak Reader", "website": "", "body": body, "stamp": stamp}


async def client_loop(
    number: int, base: str, pages: list[str], tally: Tally, until: asyncio.Event
) -> None:
    """One reader: pages, the feed, a search, and a comment now and then, until told."""
    rng = random.Random(number)
    reads = ["/", "/?page=2", "/tags", "/feed.xml", "/search?q=git", *pages]
    async with client_for(base, timeout=DEADLINE_SECONDS) as client:
        while not until.is_set():
            post_comment = rng.random() < 0.3
            body = f"soak {tally.phase} {number}-{next(tally.sequence)}"
            try:
                if post_comment:
                    # A reader without a session (the page's form would carry its token).
                    client.cookies.clear()
                    response = await client.post(
                        f"{rng.choice(pages)}/comments",
                        data=comment_form(body),
                        headers=SAME_SITE,
                    )
                else:
                    response = await client.get(rng.choice(reads))
            except httpx.TransportError as error:
                if not until.is_set():  # only a server that is stopping may drop us
                    tally.failures.append(f"client {number}: {error!r}")
                if post_comment:
                    tally.unanswered.append(body)
                return  # the server is going away: this reader is done
            tally.statuses[response.status_code] += 1
            if response.status_code >= 500:
                tally.failures.append(f"{response.request.method} {response.request.url}: 5xx")
            elif post_comment:
                if response.status_code == 303:
                    tally.acknowledged.append(body)
                else:
                    tally.failures.append(
                        f"comment refused: {response.status_code} {response.request.url.path} "
                        + response.text[-300:]
                    )


def token_in(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the form"
    return found.group(1)


async def writer_loop(base: str, until: asyncio.Event, first: asyncio.Event) -> list[str]:
    """A writer signed in through the login form, saving new drafts until told; the
    titles of the saves the server acknowledged. `first` is set at the first one."""
    saved: list[str] = []
    async with client_for(base, timeout=DEADLINE_SECONDS, headers=SAME_SITE) as client:
        login = await client.get("/login")
        form = {"email": WRITER, "password": TEST_PASSWORD, "csrf_token": token_in(login.text)}
        assert (await client.post("/login", data=form)).status_code == 303
        token = token_in((await client.get("/admin/posts/new")).text)
        for number in itertools.count():
            if until.is_set():
                break
            title = f"Soak save {number}"
            fields = {"csrf_token": token, "title": title, "body": f"Draft *{number}*."}
            response = await client.post("/admin/posts/save", data={**fields, "action": "draft"})
            assert response.status_code == 303, response.text[-500:]
            saved.append(title)
            first.set()
    return saved


async def run_import(database_url: str, folder: Path, files: int) -> int:
    """`quire import` of `files` new Jekyll posts, as a writer would run it mid-load."""
    site = folder / "site" / "_posts"
    site.mkdir(parents=True)
    for n in range(files):
        (site / f"2024-01-01-soak-import-{n}.md").write_text(
            f"---\ntitle: Soak import {n}\ntags: [soak]\n---\nImported *{n}*.\n"
        )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "QUIRE_INSTANCE_PATH": str(folder / "instance"),
    }
    process = await asyncio.create_subprocess_exec(
        QUIRE, "import", str(site), env=env, stdout=asyncio.subprocess.DEVNULL
    )
    return await process.wait()


async def slow_comment(
    base: str, page: str, body: str, seconds: float, begun: asyncio.Event
) -> int:
    """A comment whose form trickles in over `seconds`: in flight when SIGTERM comes.
    `begun` is set once a worker has read its headers and first piece; its status."""
    encoded = str(httpx.QueryParams(comment_form(body))).encode()
    pieces = 10
    step = -(-len(encoded) // pieces)
    host, port = base.removeprefix("http://").split(":")
    head = (
        f"POST {page}/comments HTTP/1.1\r\nHost: {host}\r\nSec-Fetch-Site: same-origin\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(encoded)}\r\nConnection: close\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head + encoded[:step])
        await writer.drain()
        await request_begun(int(port), writer.get_extra_info("sockname")[1])
        begun.set()
        for start in range(step, len(encoded), step):
            await asyncio.sleep(seconds / pieces)
            writer.write(encoded[start : start + step])
            await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), DEADLINE_SECONDS)
        return int(status_line.split()[1])
    finally:
        writer.close()


async def request_begun(port: int, client_port: int) -> None:
    """Wait until a worker has accepted the connection from `client_port` and read all
    that was sent on it: its request has begun. `ss` shows the server's end of the
    connection, its owner (none while it waits to be accepted) and its unread bytes."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        listed = await server_end(port, client_port)
        if any(line.split()[0] == "0" and "pid=" in line for line in listed.splitlines()):
            return
        assert time.monotonic() < deadline, f"no worker read the request: {listed}"
        await asyncio.sleep(0.05)


async def open_stream(base: str, page: str, opened: asyncio.Event, ended: dict[str, float]) -> None:
    """A reader's live-comment stream; notes when the server ended it."""
    async with (
        client_for(base, timeout=60) as client,
        client.stream("GET", f"{page}/comments/stream") as response,
    ):
        assert response.status_code == 200, await response.aread()
        async for _chunk in response.aiter_bytes():
            opened.set()
    ended[page] = time.monotonic()


async def stored_titles(database_url: str) -> Counter[str]:
    async with session_on(database_url) as session:
        return Counter((await session.scalars(select(Post.title))).all())


async def stored_bodies(database_url: str) -> Counter[str]:
    async with session_on(database_url) as session:
        rows = await session.scalars(select(Comment.body).where(Comment.body.like("soak %")))
        return Counter(rows.all())


async def test_many_workers_many_clients_then_sigterm(
    backend: str, postgres_schema: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder, database_url = fresh_database(backend, tmp_path_factory, "soak")
    pages = await seed(database_url)
    process, base = await asyncio.to_thread(
        start_quire, database_url, folder, "--workers", str(WORKERS), **SETTINGS
    )
    try:
        # 1. Fifty clients for a while: no 5xx, every acknowledged comment stored once.
        tally = Tally("steady")
        stop = asyncio.Event()
        readers = [
            asyncio.create_task(client_loop(n, base, pages, tally, stop)) for n in range(CLIENTS)
        ]
        first_save = asyncio.Event()
        writer = asyncio.create_task(writer_loop(base, stop, first_save))
        imported = asyncio.create_task(run_import(database_url, folder, IMPORTED))
        await asyncio.sleep(LOAD_SECONDS)
        # The load goes on until the writer has saved once (signing in hashes a password,
        # which a busy machine makes slow), so a save is always made under the full load.
        saved_once = asyncio.create_task(first_save.wait())
        await asyncio.wait(
            [saved_once, writer], timeout=WRITER_PATIENCE, return_when=asyncio.FIRST_COMPLETED
        )
        saved_once.cancel()
        stop.set()
        await asyncio.gather(*readers)
        saves = await writer
        assert await imported == 0
        assert tally.failures == []
        assert tally.statuses[200] > 0 and tally.acknowledged
        assert set(tally.statuses) <= {200, 303}, tally.statuses
        stored = await stored_bodies(database_url)
        assert {body: n for body, n in stored.items() if n != 1} == {}
        assert set(stored) == set(tally.acknowledged)
        titles = await stored_titles(database_url)
        assert saves and all(titles[title] == 1 for title in saves)
        assert sum(n for title, n in titles.items() if title.startswith("Soak import")) == IMPORTED

        # 2. Streams open, load again, slow comments arriving: then SIGTERM.
        during = Tally("stopping")
        going = asyncio.Event()
        ended: dict[str, float] = {}
        opened = [asyncio.Event() for _ in pages[:3]]
        streams = [
            asyncio.create_task(open_stream(base, page, event, ended))
            for page, event in zip(pages, opened, strict=False)
        ]
        await asyncio.wait_for(
            asyncio.gather(*(event.wait() for event in opened)), DEADLINE_SECONDS
        )
        readers = [
            asyncio.create_task(client_loop(n, base, pages, during, going)) for n in range(CLIENTS)
        ]
        begun = [asyncio.Event() for _ in range(5)]
        slow = [
            asyncio.create_task(slow_comment(base, pages[0], f"soak slow-{n}", 3.0, event))
            for n, event in enumerate(begun)
        ]
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in begun)), DEADLINE_SECONDS)
        asked_to_stop = time.monotonic()
        going.set()  # readers stop at their next transport error or answer
        process.send_signal(signal.SIGTERM)
        slow_statuses = await asyncio.gather(*slow)
        await asyncio.wait_for(asyncio.gather(*streams), timeout=GRACEFUL_SECONDS)
        await asyncio.gather(*readers)
        code = await asyncio.to_thread(
            process.wait, GRACEFUL_SECONDS + SHUTDOWN_MARGIN_SECONDS + DEADLINE_SECONDS
        )
        exited = time.monotonic()
    finally:
        stop_quire(process)

    # The slow comments were in flight at SIGTERM: each was answered and stored.
    assert slow_statuses == [303] * 5
    # Streams were ended by the shutdown, and nothing held the server for its graceful
    # wait (only the slow comments, for their last seconds); it exited cleanly.
    assert len(ended) == len(opened)
    assert max(ended.values()) - asked_to_stop < GRACEFUL_SECONDS
    assert code == 0
    assert exited - asked_to_stop < GRACEFUL_SECONDS
    assert [f for f in during.failures if "5xx" in f or "refused" in f] == []

    stored = await stored_bodies(database_url)
    assert {body: n for body, n in stored.items() if n != 1} == {}
    acknowledged = {
        *tally.acknowledged,
        *during.acknowledged,
        *(f"soak slow-{n}" for n in range(5)),
    }
    assert acknowledged <= set(stored)
    assert set(stored) <= acknowledged | set(during.unanswered)

    if is_sqlite(database_url):
        async with session_on(database_url) as session:
            assert (await session.execute(text("PRAGMA integrity_check"))).scalar() == "ok"
            total = await session.scalar(select(func.count()).select_from(Comment))
            assert total == len(stored)
