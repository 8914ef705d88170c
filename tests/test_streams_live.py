"""Live comments across real servers: an approval through one app instance reaches a
reader connected to another (PostgreSQL by NOTIFY, SQLite by polling the event log);
a browser that reconnects elsewhere with Last-Event-ID gets what it missed, once; and
one process holds 500 open streams."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components.comments import intake
from components.comments.intake import Moderation, Rules, Submission
from components.comments.stamps import issue_stamp
from components.models import Post, PostStatus, Role, User
from tests.conftest import (
    DEADLINE_SECONDS,
    TEST_PASSWORD,
    TEST_SECRET,
    backend_url,
    fresh_database,
    make_user,
    post_address,
    reset_database,
    served,
    session_on,
    write_post,
)
from tests.sse import Reader, from_httpx

HELD = Rules(moderation=Moderation.ALL, min_seconds=0, per_ip=10_000)
SETTINGS = {"QUIRE_COMMENT_MODERATION": "all", "QUIRE_COMMENT_MIN_SECONDS": "0"}
ADMIN_EMAIL = "root@example.com"


class Site:
    """Two app instances on one database: A with two hypercorn workers, B with one."""

    def __init__(self, database_url: str, a: str, b: str) -> None:
        self.database_url = database_url
        self.a = a
        self.b = b


@pytest.fixture(scope="module")
def site(
    backend: str, postgres_schema: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    folder, database_url = fresh_database(backend, tmp_path_factory, "streams")
    with ExitStack() as stack:
        a = stack.enter_context(served(database_url, folder / "a", "--workers", "2", **SETTINGS))
        b = stack.enter_context(served(database_url, folder / "b", **SETTINGS))
        yield Site(database_url, a, b)


async def a_post_with_held_comments(
    db: AsyncSession, title: str, count: int
) -> tuple[Post, list[int]]:
    post = await write_post(
        db, title=title, body="Text.", status=PostStatus.PUBLISHED, comments_enabled=True
    )
    held = []
    for number in range(count):
        form = Submission(
            name="Lin Reader",
            body=f"Held comment {number} on {title}",
            stamp=issue_stamp(TEST_SECRET, time.time() - 60),
        )
        comment = await intake.submit(
            db, post, form, rules=HELD, secret=TEST_SECRET, ip="203.0.113.7", commenter="c" * 64
        )
        held.append(comment.id)
    await db.commit()
    return post, held


async def signed_in(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """An admin's browser on the client's server: the login form's token, then the form."""
    page = (await client.get("/login")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = await client.post(
        "/login",
        data={"email": ADMIN_EMAIL, "password": TEST_PASSWORD, "csrf_token": token.group(1)},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 303, response.text
    return client


async def approve(admin: httpx.AsyncClient, comment_id: int) -> None:
    page = (await admin.get("/admin/comments/")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    response = await admin.post(
        f"/admin/comments/{comment_id}/approve",
        data={"csrf_token": token.group(1)},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 303, response.text


@asynccontextmanager
async def reading(client: httpx.AsyncClient, path: str, **headers: str) -> AsyncIterator[Reader]:
    async with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200
        reader = from_httpx(response.aiter_bytes())
        assert (await reader.next()).retry is not None
        yield reader


@asynccontextmanager
async def reading_when_let_in(
    client: httpx.AsyncClient, path: str, gate: asyncio.Semaphore
) -> AsyncIterator[Reader]:
    """A stream as a reconnecting browser opens it in a crowd: asked to come back (503
    with Retry-After, when the pool was busy catching others up), it comes back."""
    async with asyncio.timeout(DEADLINE_SECONDS):  # only ends a hung test
        while True:
            async with gate:
                request = client.build_request("GET", path)
                response = await client.send(request, stream=True)
                if response.status_code != 503 or "Retry-After" not in response.headers:
                    break
                await response.aclose()
            # Sooner than Retry-After asks, but not in a tight loop: others are let in meanwhile.
            await asyncio.sleep(0.2)
    try:
        assert response.status_code == 200
        reader = from_httpx(response.aiter_bytes())
        assert (await reader.next()).retry is not None
        yield reader
    finally:
        await response.aclose()


async def prepared(site: Site, title: str, count: int) -> tuple[str, list[int]]:
    async with session_on(site.database_url) as db:
        if await db.scalar(select(User).where(User.email == ADMIN_EMAIL)) is None:
            await make_user(db, ADMIN_EMAIL, "Grace Admin", Role.ADMIN)
        post, held = await a_post_with_held_comments(db, title, count)
        return post_address(post), held


async def test_an_approval_through_one_instance_reaches_a_reader_on_another(site: Site) -> None:
    path, [held] = await prepared(site, "Across instances", 1)
    async with (
        httpx.AsyncClient(base_url=site.a, timeout=DEADLINE_SECONDS) as reader_client,
        httpx.AsyncClient(base_url=site.b, timeout=DEADLINE_SECONDS) as admin_client,
    ):
        admin = await signed_in(admin_client)
        async with reading(reader_client, f"{path}/comments/stream") as reader:
            await approve(admin, held)
            message = await reader.next_event()
    assert f'id="comment-{held}"' in message.data


async def test_a_reader_reconnecting_elsewhere_gets_what_it_missed_once(site: Site) -> None:
    path, [first, missed, later] = await prepared(site, "Reconnecting", 3)
    async with (
        httpx.AsyncClient(base_url=site.a, timeout=DEADLINE_SECONDS) as on_a,
        httpx.AsyncClient(base_url=site.b, timeout=DEADLINE_SECONDS) as on_b,
        httpx.AsyncClient(base_url=site.b, timeout=DEADLINE_SECONDS) as admin_client,
    ):
        admin = await signed_in(admin_client)
        async with reading(on_a, f"{path}/comments/stream") as reader:
            await approve(admin, first)
            seen = await reader.next_event()
        assert f'id="comment-{first}"' in seen.data and seen.id is not None
        # Offline while the second comment is approved; then back, on the other instance.
        await approve(admin, missed)
        async with reading(on_b, f"{path}/comments/stream", **{"Last-Event-ID": seen.id}) as again:
            caught_up = await again.next_event()
            # A comment approved now is the next message: none was sent twice before it.
            await approve(admin, later)
            following = await again.next_event()
    assert f'id="comment-{missed}"' in caught_up.data
    assert f'id="comment-{first}"' not in caught_up.data
    assert f'id="comment-{later}"' in following.data


async def test_one_process_holds_500_streams(tmp_path: Path) -> None:
    """On SQLite, one hypercorn worker: 500 readers all see the approval, the 501st is
    asked to come back later."""
    database_url = backend_url("sqlite", tmp_path)
    await reset_database(database_url)
    with served(database_url, tmp_path / "server", **SETTINGS) as url:
        site = Site(database_url, url, url)
        path, [held] = await prepared(site, "Crowded", 1)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
        async with (
            httpx.AsyncClient(base_url=url, timeout=DEADLINE_SECONDS, limits=limits) as client,
            AsyncExitStack() as streams,
        ):
            # Fifty opening at a time: on a busy machine a crowd of 500 catching up at once
            # can wait past the pool's timeout, and is rightly asked to come back.
            gate = asyncio.Semaphore(50)
            stream = f"{path}/comments/stream"
            readers = await asyncio.gather(
                *(
                    streams.enter_async_context(reading_when_let_in(client, stream, gate))
                    for _ in range(500)
                )
            )
            refused = await client.get(stream)
            assert refused.status_code == 503
            assert refused.text == "Live updates are busy; try again shortly."
            async with httpx.AsyncClient(base_url=url, timeout=DEADLINE_SECONDS) as admin_client:
                await approve(await signed_in(admin_client), held)
            messages = await asyncio.gather(*(r.next_event() for r in readers))
    assert all(f'id="comment-{held}"' in m.data for m in messages)
    assert len({m.id for m in messages}) == 1
