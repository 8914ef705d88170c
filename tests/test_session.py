"""One session per request: committed on success, rolled back on an error."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator
from pathlib import Path
from typing import Any

from quart import abort, request
from quart.wrappers.request import Body
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.db import is_sqlite
from components.models import Tag
from web import create_app
from web.database import get_db

from .conftest import app_config, csrf_token

# Only to end a hung test: a busy machine may take seconds over what takes milliseconds.
DEADLINE = 60


async def tag_count(db: AsyncSession) -> int:
    return await db.scalar(select(func.count()).select_from(Tag)) or 0


async def test_writes_commit_on_success_and_roll_back_on_errors(
    database_url: str, db: AsyncSession, tmp_path: Path
) -> None:
    app = create_app(app_config(database_url, tmp_path / "instance"))

    @app.post("/test/ok")
    async def ok() -> str:
        get_db().add(Tag(name="kept", slug="kept"))
        return "ok"

    @app.post("/test/refused")
    async def refused() -> str:
        get_db().add(Tag(name="refused", slug="refused"))
        await get_db().flush()
        abort(422)

    @app.post("/test/crash")
    async def crash() -> str:
        get_db().add(Tag(name="crashed", slug="crashed"))
        await get_db().flush()
        raise RuntimeError("boom")

    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {"X-CSRF-Token": await csrf_token(client)}
        assert (await client.post("/test/ok", headers=headers)).status_code == 200
        assert (await client.post("/test/refused", headers=headers)).status_code == 422
        crashed = await client.post("/test/crash", headers=headers)
        assert crashed.status_code == 500
        assert "<html" in await crashed.get_data(as_text=True)

    names = (await db.scalars(select(Tag.name))).all()
    assert names == ["kept"]


async def test_pages_without_sql_open_no_session(client, sql) -> None:
    sql.clear()
    response = await client.get("/static/css/quire.css")
    assert response.status_code == 200
    assert sql.count == 0


async def test_on_sqlite_a_workers_writers_take_turns_and_readers_do_not_wait(
    database_url: str, db: AsyncSession, tmp_path: Path
) -> None:
    """SQLite has one writer: a worker queues its POSTs in order rather than sending them
    all to the busy handler. PostgreSQL writes at once (and two first writes to a fresh
    database both land: the content clock's row is made once); reads never queue."""
    app = create_app(app_config(database_url, tmp_path / "instance"))
    seen: list[str] = []
    writing = asyncio.Event()
    read = asyncio.Event()
    both_inside = asyncio.Event()

    @app.post("/test/write/<name>")
    async def write(name: str) -> str:
        seen.append(f"start {name}")
        if sum(event.startswith("start") for event in seen) == 2:
            both_inside.set()
        get_db().add(Tag(name=name, slug=name))
        await get_db().flush()
        writing.set()
        # Inside until the reader has been answered and, on PostgreSQL, until the other
        # writer is inside too (on a busy machine it may not have started by the time the
        # reader is answered). Were either queued, the deadline (only for that) would end
        # the wait, and the order below would say so.
        waits = [read.wait()] if is_sqlite(database_url) else [read.wait(), both_inside.wait()]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*waits), DEADLINE)
        seen.append(f"end {name}")
        return "ok"

    @app.get("/test/read")
    async def reading() -> str:
        seen.append("read")
        count = await tag_count(get_db())
        read.set()
        return str(count)

    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {"X-CSRF-Token": await csrf_token(client)}

        async def reader() -> int:
            await writing.wait()
            return (await client.get("/test/read")).status_code

        answers = await asyncio.gather(
            client.post("/test/write/first", headers=headers),
            client.post("/test/write/second", headers=headers),
            reader(),
        )
    assert [answer if isinstance(answer, int) else answer.status_code for answer in answers] == [
        200,
        200,
        200,
    ]
    # The reader came in while the first writer was inside.
    assert seen.index("read") < seen.index("end first")
    writes = [event for event in seen if event != "read"]
    if is_sqlite(database_url):
        # One after the other. Which goes first is not fixed: each reads the content
        # clock and the site's settings (web/site.py) before it takes its turn.
        first, second = (name.split()[1] for name in writes[::2])
        assert writes == [f"start {first}", f"end {first}", f"start {second}", f"end {second}"]
        assert {first, second} == {"first", "second"}
    else:
        # Both inside at once, in either order: nothing queues them.
        assert sorted(writes[:2]) == ["start first", "start second"]
    assert sorted((await db.scalars(select(Tag.name))).all()) == ["first", "second"]


async def test_a_writer_whose_body_arrives_slowly_holds_up_no_other(
    database_url: str, db: AsyncSession, tmp_path: Path
) -> None:
    """The turn among writers is taken once the body is in: a slow client does not make
    the worker's other writers wait for its bytes."""
    app = create_app(app_config(database_url, tmp_path / "instance"))
    waiting = asyncio.Event()

    class WatchedBody(Body):
        """A body that says when the app first waits for it: then the slow request is
        as far as it goes before the rest of its form arrives."""

        def __await__(self) -> Generator[Any, None, Any]:
            waiting.set()
            return super().__await__()

    app.request_class = type("WatchedRequest", (app.request_class,), {"body_class": WatchedBody})

    @app.post("/test/named")
    async def named() -> str:
        name = (await request.form)["name"]
        get_db().add(Tag(name=name, slug=name))
        return "ok"

    async with app.test_app() as test_app:
        client = test_app.test_client()
        token = await csrf_token(client)
        body = b"name=slow"
        headers = {
            "X-CSRF-Token": token,
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Length": str(len(body)),
        }
        async with client.request("/test/named", method="POST", headers=headers) as slow:
            await slow.send(body[:4])
            await asyncio.wait_for(waiting.wait(), DEADLINE)
            quick = await asyncio.wait_for(
                client.post("/test/named", form={"name": "quick"}, headers={"X-CSRF-Token": token}),
                DEADLINE,
            )
            assert quick.status_code == 200
            await slow.send(body[4:])
            await slow.send_complete()
        assert (await slow.as_response()).status_code == 200
    assert sorted((await db.scalars(select(Tag.name))).all()) == ["quick", "slow"]
