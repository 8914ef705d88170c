"""Two Quires on two loopback ports, each under `quire serve` with its own database and
outbox worker, following each other over ActivityPub: follows asked and accepted both
ways, posts delivered and their signatures verified, replies written on one landing in
the other's moderation queue and shown once approved, and an outbox that catches up
after the other server was stopped for a minute (its first retry waits that long).

Instance A runs on the database under test, instance B on an SQLite file of its own.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import (
    Comment,
    CommentStatus,
    Delivery,
    DeliveryState,
    Following,
    FollowingState,
    Post,
    Role,
)

from .conftest import (
    DEADLINE_SECONDS,
    TEST_PASSWORD,
    make_user,
    post_address,
    reset_database,
    run_async,
    session_on,
    start_quire,
    stop_quire,
)

T = TypeVar("T")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SETTINGS = {"QUIRE_FETCH_PRIVATE": "on", "QUIRE_OUTBOX_IDLE_MS": "100"}
# The outbox's first retry comes a minute after a failure; ten times that ends a hung test.
RECOVERY_DEADLINE_SECONDS = 600


@dataclass
class Instance:
    name: str
    database_url: str
    folder: Path
    email: str
    process: subprocess.Popen[bytes] | None = None
    url: str = ""

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def start(self) -> None:
        port = self.port if self.url else 0
        self.process, self.url = start_quire(self.database_url, self.folder, port=port, **SETTINGS)

    def stop(self) -> None:
        if self.process is not None:
            stop_quire(self.process)
            self.process = None


@pytest.fixture
def instances(database_url: str, tmp_path: Path) -> Iterator[tuple[Instance, Instance]]:
    other = tmp_path / "b"
    other.mkdir()
    a = Instance("a", database_url, tmp_path / "a", "ada@a.example")
    b = Instance("b", f"sqlite+aiosqlite:///{other / 'quire.db'}", other, "bea@b.example")

    async def arrange() -> None:
        await reset_database(b.database_url)
        for instance, name in ((a, "Ada"), (b, "Bea")):
            async with session_on(instance.database_url) as session:
                await make_user(session, instance.email, name, role=Role.ADMIN)

    run_async(arrange())
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


async def signed_in(instance: Instance) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=instance.url, timeout=DEADLINE_SECONDS, headers={"Origin": instance.url}
    )
    form = {"email": instance.email, "password": TEST_PASSWORD}
    response = await submit(client, "/login", "/login", form)
    assert response.status_code == 303, response.text
    return client


async def submit(
    client: httpx.AsyncClient, page: str, action: str, form: dict[str, str]
) -> httpx.Response:
    """Post `form` to `action` with the CSRF token of `page`, as a browser would."""
    found = TOKEN.search((await client.get(page)).text)
    assert found, f"no form on {page}"
    return await client.post(action, data={**form, "csrf_token": found[1]})


async def publish(client: httpx.AsyncClient, title: str, in_reply_to: str = "") -> None:
    form = {"title": title, "body": f"{title}: some words.", "action": "publish"}
    if in_reply_to:
        form["in_reply_to"] = in_reply_to
    response = await submit(client, "/admin/posts/new", "/admin/posts/save", form)
    assert response.status_code == 303, response.text


async def until(
    instance: Instance,
    look: Callable[[AsyncSession], Awaitable[T | None]],
    what: str,
    deadline: float = DEADLINE_SECONDS,
) -> T:
    """What `look` finds in `instance`'s database, once it finds something."""
    end = time.monotonic() + deadline
    while True:
        async with session_on(instance.database_url) as session:
            found = await look(session)
        if found is not None and found is not False:
            return found
        if time.monotonic() > end:
            log = (instance.folder / f"server-{instance.port}.log").read_text()[-3000:]
            raise AssertionError(f"{instance.name}: {what} did not happen; its log ends:\n{log}")
        await asyncio.sleep(0.1)


def accepted(session: AsyncSession) -> Awaitable[Following | None]:
    return session.scalar(select(Following).where(Following.state == FollowingState.ACCEPTED))


def post_titled(title: str) -> Callable[[AsyncSession], Awaitable[Post | None]]:
    def look(session: AsyncSession) -> Awaitable[Post | None]:
        return session.scalar(select(Post).where(Post.title == title))

    return look


def comment_from(source: str) -> Callable[[AsyncSession], Awaitable[Comment | None]]:
    def look(session: AsyncSession) -> Awaitable[Comment | None]:
        return session.scalar(select(Comment).where(Comment.source_url == source))

    return look


def deliveries_of(post_id: int, state: DeliveryState, *, tried: bool = False) -> Any:
    async def look(session: AsyncSession) -> list[Delivery] | None:
        query = select(Delivery).where(
            Delivery.post_id == post_id, Delivery.channel == "activitypub"
        )
        rows = list(await session.scalars(query))
        wanted = [row for row in rows if row.state is state and (row.attempts > 0 or not tried)]
        return rows if rows and len(wanted) == len(rows) else None

    return look


async def public_address(instance: Instance, title: str) -> tuple[int, str]:
    post = await until(instance, post_titled(title), f"the post {title!r}")
    return post.id, instance.url + post_address(post)


async def approve_reply(instance: Instance, client: httpx.AsyncClient, source: str) -> None:
    """The reply from `source` waits for a moderator on `instance`; approved, it shows."""
    comment = await until(instance, comment_from(source), f"a reply from {source}")
    assert comment.status is CommentStatus.PENDING
    queue = "/admin/comments/"
    approved = await submit(client, queue, f"{queue}{comment.id}/approve", {})
    assert approved.status_code in (200, 303), approved.text


async def test_two_quires_follow_reply_and_catch_up_with_each_other(
    instances: tuple[Instance, Instance],
) -> None:
    a, b = instances
    ada, bea = await signed_in(a), await signed_in(b)
    try:
        # Follows both ways: A's blog follows B's blog, B's blog follows A's author.
        asked = await submit(
            ada, "/admin/following/", "/admin/following/", {"address": f"@blog@{b.host}"}
        )
        assert asked.status_code == 303, asked.text
        await until(a, accepted, "B accepting A's follow")
        asked = await submit(
            bea, "/admin/following/", "/admin/following/", {"address": f"@ada@{a.host}"}
        )
        assert asked.status_code == 303, asked.text
        await until(b, accepted, "A accepting B's follow")
        assert "Following" in (await ada.get("/admin/following/")).text
        assert f"@blog@{a.host}" in (await ada.get("/admin/followers/")).text

        # A post on A reaches B: B checked its signature, or it would not be sent.
        await publish(ada, "Hello from A")
        a_post, a_address = await public_address(a, "Hello from A")
        await until(a, deliveries_of(a_post, DeliveryState.SENT), "A's post delivered to B")

        # B answers it: the reply waits in A's queue, and shows once approved.
        await publish(bea, "Reply from B", in_reply_to=a_address)
        _, b_address = await public_address(b, "Reply from B")
        await approve_reply(a, ada, b_address)
        page = (await ada.get(a_address.removeprefix(a.url))).text
        assert "Reply from B" in page

        # And A answers B the same way.
        await publish(ada, "Answer from A", in_reply_to=b_address)
        _, answer_address = await public_address(a, "Answer from A")
        await approve_reply(b, bea, answer_address)
        assert "Answer from A" in (await bea.get(b_address.removeprefix(b.url))).text

        # B goes down; A's next post fails to reach it, then arrives once B is back.
        await bea.aclose()
        b.stop()
        await publish(ada, "While B sleeps")
        later, _ = await public_address(a, "While B sleeps")
        await until(
            a, deliveries_of(later, DeliveryState.PENDING, tried=True), "a failed first try"
        )
        b.start()
        await until(
            a,
            deliveries_of(later, DeliveryState.SENT),
            "A's outbox catching up with B",
            deadline=RECOVERY_DEADLINE_SECONDS,
        )
    finally:
        await ada.aclose()
        await bea.aclose()
