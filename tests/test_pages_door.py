"""The front door (web/pages/door.py): kept pages answered before Quart, exactly as Quart
answered them, and nothing else."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from quart import Quart
from quart.signals import request_started
from sqlalchemy.ext.asyncio import AsyncSession

from components.comments import stamps
from web.pages import door
from web.pages.door import FrontDoor

from .conftest import post_address
from .test_comments import make_post
from .test_pages import publish
from .test_pages_kept import STAMP, without_stamps

FRAGMENT = {"HX-Request": "true", "HX-Request-Type": "partial"}
# Made for each answer, by the door or by Quart alike.
PER_ANSWER = {"x-request-id", "date", "server"}


@contextmanager
def through_quart(app: Quart) -> Iterator[list[str]]:
    """The paths of the requests that reached Quart while inside."""
    reached: list[str] = []

    async def note(_app: Quart, **_extra: object) -> None:
        from quart import request

        reached.append(request.path)

    request_started.connect(note, app)
    try:
        yield reached
    finally:
        request_started.disconnect(note, app)


def door_of(app: Quart) -> FrontDoor:
    layer = app.asgi_app
    while not isinstance(layer, FrontDoor):
        layer = layer.app
    return layer


def headers_of(response: object) -> dict[str, str]:
    return {
        name.lower(): value
        for name, value in response.headers.items()  # type: ignore[attr-defined]
        if name.lower() not in PER_ANSWER
    }


async def test_a_kept_page_is_answered_at_the_door_as_quart_answered_it(
    app: Quart, client, db: AsyncSession, sql
) -> None:
    await publish(db, "First")
    with through_quart(app) as reached:
        first = await client.get("/", headers={"Accept-Encoding": "br"})
        sql.clear()
        second = await client.get("/", headers={"Accept-Encoding": "br"})
    assert reached == ["/"], "the second answer never reached Quart"
    assert sql.count == 1, "only the clock was read"
    assert second.status_code == 200
    assert headers_of(second) == headers_of(first)
    assert await second.get_data() == await first.get_data()
    assert second.headers["Content-Encoding"] == "br"
    assert "Content-Security-Policy" in second.headers
    assert "X-Request-Id" in second.headers, "the access log still sees it"


async def test_a_write_sends_the_next_reader_on_to_quart(
    app: Quart, client, db: AsyncSession
) -> None:
    await publish(db, "First")
    await client.get("/")
    await publish(db, "Second")
    with through_quart(app) as reached:
        page = await (await client.get("/")).get_data(as_text=True)
        again = await (await client.get("/")).get_data(as_text=True)
    assert "Second" in page and again == page
    assert reached == ["/"]


async def test_each_second_at_the_door_has_its_own_stamp(
    app: Quart, client, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = post_address(await make_post(db))
    gzipped = {"Accept-Encoding": "gzip"}
    now = [1_000_000.0]
    monkeypatch.setattr(stamps, "clock", lambda: now[0])
    answers = []
    with through_quart(app) as reached:
        for _ in range(3):
            now[0] += stamps.STAMP_WINDOW_SECONDS
            answers.append(await client.get(path, headers=gzipped))
    assert reached == [path]
    pages = [gzip.decompress(await answer.get_data()).decode() for answer in answers]
    assert len({STAMP.search(page).group(1) for page in pages}) == 3
    assert len({without_stamps(page) for page in pages}) == 1
    plain = await client.get(path, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["ETag"].startswith('"'), "strong: its bytes are the page's own"
    assert without_stamps(await plain.get_data(as_text=True)) == without_stamps(pages[0])


async def test_conditional_requests_are_answered_at_the_door(
    app: Quart, client, db: AsyncSession
) -> None:
    await publish(db, "First")
    first = await client.get("/")
    with through_quart(app) as reached:
        by_tag = await client.get("/", headers={"If-None-Match": first.headers["ETag"]})
        by_date = await client.get(
            "/", headers={"If-Modified-Since": first.headers["Last-Modified"]}
        )
        stale = await client.get("/", headers={"If-None-Match": '"something-else"'})
    assert reached == []
    assert by_tag.status_code == by_date.status_code == 304
    assert await by_tag.get_data() == b""
    assert by_tag.headers["ETag"] == first.headers["ETag"]
    assert stale.status_code == 200


async def test_fragments_and_pages_are_told_apart(app: Quart, client, db: AsyncSession) -> None:
    await publish(db, "First")
    full = await (await client.get("/")).get_data(as_text=True)
    part = await (await client.get("/", headers=FRAGMENT)).get_data(as_text=True)
    with through_quart(app) as reached:
        assert await (await client.get("/")).get_data(as_text=True) == full
        assert await (await client.get("/", headers=FRAGMENT)).get_data(as_text=True) == part
        # A boosted request wants the whole page, as Quart decides it.
        boosted = {**FRAGMENT, "HX-Boosted": "true"}
        assert await (await client.get("/", headers=boosted)).get_data(as_text=True) == full
    assert "<html" in full and "<html" not in part
    assert reached == [], "a boosted request is the full page's, at the door as in Quart"


async def test_what_the_door_does_not_answer_goes_on_to_quart(
    app: Quart, client, db: AsyncSession
) -> None:
    await publish(db, "First")
    await client.get("/")
    with through_quart(app) as reached:
        with_cookie = await client.get("/", headers={"Cookie": "other=1"})
        head = await client.head("/")
        huge = await client.get("/", headers={"X-Padding": "x" * app.config["MAX_HEADER_BYTES"]})
        elsewhere = await client.get("/tags")
    assert reached == ["/", "/", "/", "/tags"]
    assert with_cookie.status_code == head.status_code == elsewhere.status_code == 200
    assert "private" in with_cookie.headers["Cache-Control"]
    assert huge.status_code == 431


async def test_the_door_forgets_addresses_past_its_bound(
    app: Quart, client, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(door, "MAX_DOORS", 2)
    await publish(db, "First")
    for query in ("a", "b", "c"):
        assert (await client.get(f"/search?q={query}")).status_code == 200
    assert 1 <= len(door_of(app).doors) <= 2
