"""Public pages kept in memory and answered through the pipeline (web/pages/): never stale,
never shared wrongly."""

from __future__ import annotations

import asyncio
import gzip
import re
import time
from datetime import timedelta
from pathlib import Path

import brotli
import httpx
import pytest
from quart import Quart
from quart.signals import template_rendered
from sqlalchemy.ext.asyncio import AsyncSession

from components.clock import EPOCH, Moment
from components.comments import stamps
from components.comments.stamps import stamp_age
from components.models import PostStatus, utcnow
from web.pages.store import PAGES, Entry, Pages

from .conftest import DEADLINE_SECONDS, TEST_SECRET, post_address, served, server_end
from .test_comments import make_post
from .test_pages import publish

STAMP = re.compile(r'name="stamp" value="([^"]+)"')


def without_stamps(page: str) -> str:
    return STAMP.sub('name="stamp" value=""', page)


def test_the_least_recently_used_pages_go_first_when_over_budget() -> None:
    pages = Pages(budget=3 * (1000 + 512))
    moment = Moment(1, EPOCH)
    keys = [("http://quire/", f"/{n}?", False) for n in range(4)]
    for key in keys[:3]:
        pages.put(moment, key, Entry([], [b"x" * 1000]))
    assert pages.get(moment, keys[0]) is not None  # now the most recently used
    pages.put(moment, keys[3], Entry([], [b"x" * 1000]))
    assert pages.get(moment, keys[1]) is None
    assert all(pages.get(moment, key) for key in (keys[0], keys[2], keys[3]))
    # Another moment of the content: nothing kept is any use.
    assert pages.get(Moment(2, EPOCH), keys[0]) is None


# --- in the app -------------------------------------------------------------------------


async def test_a_write_is_on_the_next_page(app: Quart, client, db: AsyncSession, sql) -> None:
    await publish(db, "First")
    assert "First" in await (await client.get("/")).get_data(as_text=True)
    sql.clear()
    assert "First" in await (await client.get("/")).get_data(as_text=True)
    assert sql.count == 1, "kept: only the clock was read"
    await publish(db, "Second")
    assert "Second" in await (await client.get("/")).get_data(as_text=True)


async def test_a_scheduled_post_appears_when_its_time_comes(client, db: AsyncSession) -> None:
    await publish(db, "Now")
    await publish(
        db,
        "Soon",
        status=PostStatus.SCHEDULED,
        published_at=utcnow() + timedelta(seconds=1.5),
    )
    assert "Soon" not in await (await client.get("/")).get_data(as_text=True)
    await asyncio.sleep(1.6)  # no write at all: the clock's time moved with the publication
    assert "Soon" in await (await client.get("/")).get_data(as_text=True)


async def test_readers_with_cookies_get_pages_of_their_own(client, db: AsyncSession, sql) -> None:
    await publish(db, "First")
    await client.get("/", headers={"Cookie": "other=1"})
    sql.clear()
    response = await client.get("/", headers={"Cookie": "other=1"})
    assert response.status_code == 200
    assert sql.count > 1, "rendered again"
    assert "private" in response.headers["Cache-Control"]


async def test_each_second_of_a_kept_post_page_has_its_own_stamp(
    client, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = await make_post(db)
    path = post_address(post)
    now = [time.time()]
    monkeypatch.setattr(stamps, "clock", lambda: now[0])
    pages = []
    for _ in range(3):
        now[0] += stamps.STAMP_WINDOW_SECONDS
        answer = await client.get(path, headers={"Accept-Encoding": "gzip"})
        assert answer.headers["Content-Encoding"] == "gzip"
        body = await answer.get_data()
        assert int(answer.headers["Content-Length"]) == len(body)
        pages.append(gzip.decompress(body).decode())
    seen = [STAMP.search(page).group(1) for page in pages]
    assert len(set(seen)) == 3
    assert all(stamp_age(TEST_SECRET, stamp) is not None for stamp in seen)
    assert len({without_stamps(page) for page in pages}) == 1
    # Brotli too: within a second every answer is the same bytes, compressed once.
    brotli_answers = [await client.get(path, headers={"Accept-Encoding": "br"}) for _ in "ab"]
    assert all(answer.headers["Content-Encoding"] == "br" for answer in brotli_answers)
    first, second = [await answer.get_data() for answer in brotli_answers]
    assert first == second
    assert STAMP.search(brotli.decompress(first).decode()).group(1) == seen[-1]
    now[0] += stamps.STAMP_WINDOW_SECONDS
    later = brotli.decompress(
        await (await client.get(path, headers={"Accept-Encoding": "br"})).get_data()
    )
    plain = await client.get(path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    for page in (later.decode(), await plain.get_data(True)):
        assert without_stamps(page) == without_stamps(pages[0])
        assert STAMP.search(page).group(1) not in seen


async def test_the_site_address_is_part_of_what_is_kept(client, db: AsyncSession) -> None:
    await publish(db, "First")
    for host in ("blog.example", "mirror.example", "blog.example"):
        feed = await client.get("/feed.xml", headers={"Host": host})
        assert f"http://{host}/" in await feed.get_data(as_text=True)


async def test_a_missing_page_is_rendered_once_for_readers_asking_at_the_same_time(
    app: Quart, client, db: AsyncSession
) -> None:
    await publish(db, "First")
    renders: list[str] = []

    async def count(_app: Quart, template: object, **_context: object) -> None:
        renders.append(getattr(template, "name", ""))

    template_rendered.connect(count, app)
    try:
        answers = await asyncio.gather(*(client.get("/") for _ in range(6)))
        assert [answer.status_code for answer in answers] == [200] * 6
        bodies = {await answer.get_data() for answer in answers}
        assert len(bodies) == 1
        assert renders.count("home.html") == 1
        # A page that is not kept (here a 404) leaves those waiting to render their own.
        renders.clear()
        missing = await asyncio.gather(*(client.get("/tags/none-such") for _ in range(3)))
        assert [answer.status_code for answer in missing] == [404] * 3
        assert len(renders) == 3
    finally:
        template_rendered.disconnect(count, app)


async def test_pages_are_not_kept_when_told_to_keep_none(app: Quart, client, db, sql) -> None:
    app.extensions[PAGES].budget = 0
    await publish(db, "First")
    await client.get("/")
    sql.clear()
    await client.get("/")
    assert sql.count > 1


# --- several workers --------------------------------------------------------------------


async def test_an_acknowledged_write_is_on_the_next_page_from_any_worker(
    db: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    """Comments (published at once) posted to one worker, read right after from both: no
    worker answers from a page it kept before the write."""
    post = await make_post(db)
    path = post_address(post)
    settings = {
        "QUIRE_COMMENT_MODERATION": "none",
        "QUIRE_COMMENT_MIN_SECONDS": "0",
        "QUIRE_COMMENTS_PER_IP": "1000",
    }
    with served(database_url, tmp_path, "--workers", "2", **settings) as url:

        async def from_both_workers() -> list[str]:
            """The page read on new connections until both workers have answered. The
            reader never has cookies, so it is always sent kept pages."""
            pages: dict[int, str] = {}
            deadline = time.monotonic() + DEADLINE_SECONDS
            while len(pages) < 2:
                assert time.monotonic() < deadline, f"only workers {set(pages)} answered"
                async with httpx.AsyncClient(base_url=url, timeout=DEADLINE_SECONDS) as reader:
                    response = await reader.get(path)
                    assert "set-cookie" not in response.headers
                    pages[await worker_of(response)] = response.text
            return list(pages.values())

        async with httpx.AsyncClient(base_url=url, timeout=DEADLINE_SECONDS) as writer:
            for number in range(8):
                # Each worker keeps the page as it is now.
                page, *_ = await from_both_workers()
                stamp = STAMP.search(page).group(1)
                form = {"name": "Lin", "website": "", "topic": "", "stamp": stamp}
                sent = await writer.post(
                    f"{path}/comments",
                    data={**form, "body": f"Comment number {number}."},
                    headers={"Origin": url},
                )
                assert sent.status_code == 303
                for page in await from_both_workers():
                    assert f"Comment number {number}." in page


async def worker_of(response: httpx.Response) -> int:
    """The pid of the worker that answered `response`: the owner of the server's end of
    its connection, still open (kept alive)."""
    client_port = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    assert response.url.port is not None
    listed = await server_end(response.url.port, client_port)
    [pid] = {int(pid) for pid in re.findall(r"pid=(\d+)", listed)}
    return pid
