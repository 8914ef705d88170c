"""The database for the app: one engine per serving process, one session per request.

A request's writes are committed before its response is sent, so whatever a client is
told was saved, was. A request that loses a race for the database (SQLite's write lock
held by another worker past the busy timeout, a PostgreSQL deadlock or serialization
failure) is run again from the start on a fresh session, a few times, before it is
answered 503: never a 500, and never half a write.

On SQLite, one worker's requests that change things (POST and the other unsafe methods)
take their turns in the order they come to it (after reading the clock and the site's
settings). SQLite has one writer at a time, and its busy handler is not fair: a
transaction that has waited long polls the lock ever more rarely, so under a stream of
comments a sign-in could wait out the busy timeout again and again. In a queue, each
worker sends at most one writer to the lock at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from quart import Quart, current_app, g, request
from quart.typing import ResponseTypes
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from components.db import is_conflict, is_sqlite, make_engine, make_sessionmaker

ENGINE = "quire.engine"
SESSIONMAKER = "quire.sessionmaker"
WRITERS = "quire.writers"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# Runs of a request that keeps losing races, and the pause before the second one
# (doubled each time, with jitter so that the losers do not collide again in step).
ATTEMPTS = 5
FIRST_PAUSE_SECONDS = 0.05

log = logging.getLogger(__name__)

View = Callable[..., Awaitable[Any]]


def init_app(app: Quart) -> None:
    # `g` is reset after start-up, so the engine lives on app.extensions.
    @app.before_serving
    async def open_engine() -> None:
        engine = make_engine(app.config["DATABASE_URL"], app.config["DATABASE_POOL"])
        app.extensions[ENGINE] = engine
        app.extensions[SESSIONMAKER] = make_sessionmaker(engine)
        if is_sqlite(app.config["DATABASE_URL"]):
            app.extensions[WRITERS] = asyncio.Lock()

    @app.after_serving
    async def close_engine() -> None:
        engine: AsyncEngine | None = app.extensions.pop(ENGINE, None)
        app.extensions.pop(SESSIONMAKER, None)
        app.extensions.pop(WRITERS, None)
        if engine is not None:
            await engine.dispose()

    @app.before_serving
    async def commit_views() -> None:
        # Once every blueprint (and any view added after create_app) is registered.
        for endpoint, view in list(app.view_functions.items()):
            if not getattr(view, "commits", False):
                app.view_functions[endpoint] = _committing(app.ensure_async(view))

    app.teardown_request(_close)


def _committing(view: View) -> View:
    """`view`, made to commit its writes before it answers, and to run again when it
    loses a race for the database."""

    @functools.wraps(view)
    async def run(**kwargs: Any) -> ResponseTypes:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                async with _turn():
                    response = await current_app.make_response(await view(**kwargs))
                    await _commit(response)
                return response
            except DBAPIError as error:
                if attempt == ATTEMPTS or not is_conflict(error):
                    raise
                log.info(
                    "%s %s lost a race for the database (%s); run %d of %d follows",
                    request.method,
                    request.path,
                    error.orig,
                    attempt + 1,
                    ATTEMPTS,
                )
            await _start_over(attempt)
        raise AssertionError("unreachable: the last attempt returns or raises")

    run.commits = True  # type: ignore[attr-defined]
    return run


def own_transactions(view: View) -> View:
    """Mark a view that opens its own short transactions (it waits on other servers, and
    no transaction should wait with it): it is not wrapped in one of its own."""
    view.commits = True  # type: ignore[attr-defined]
    return view


@contextlib.asynccontextmanager
async def _turn() -> AsyncIterator[None]:
    """This request's turn among the worker's writers (SQLite only; reads never wait).

    Its body is read first: a client that sends it slowly must not hold up the others."""
    writers: asyncio.Lock | None = current_app.extensions.get(WRITERS)
    if writers is None or request.method in SAFE_METHODS:
        yield
        return
    if request.mimetype in FORM_TYPES:
        await request.form  # parsed once, kept for the view (uploads included)
    else:
        await request.get_data()
    async with writers:
        yield


async def _start_over(attempt: int) -> None:
    """Forget the lost attempt: its session (rolled back), what was read through it, and
    how far its uploads were read; then wait a little."""
    session: AsyncSession | None = g.pop("db", None)
    if session is not None:
        await asyncio.shield(session.close())
    g.pop("signed_in", None)  # an ORM object of the old session (web/auth)
    if request.mimetype == "multipart/form-data":
        for upload in (await request.files).values():
            upload.stream.seek(0)
    # Jitter, not secrecy: the standard generator is right here.
    pause = FIRST_PAUSE_SECONDS * 2 ** (attempt - 1) * (0.5 + random.random())  # noqa: S311
    await asyncio.sleep(pause)


def get_engine() -> AsyncEngine:
    return current_app.extensions[ENGINE]


def get_db() -> AsyncSession:
    """The request's session, opened on first use so that pages without SQL cost none."""
    if "db" not in g:
        g.db = current_app.extensions[SESSIONMAKER]()
    return g.db


async def release() -> None:
    """End the request's session now, for a response that outlives its use of the
    database (a stream): its connection goes back to the pool at once."""
    session: AsyncSession | None = g.pop("db", None)
    if session is not None:
        await session.commit()
        await session.close()


async def _commit(response: ResponseTypes) -> None:
    # Only a successful response keeps its writes; an error page rolls them back.
    session: AsyncSession | None = g.get("db")
    if session is not None and response.status_code < 400:
        await session.commit()


async def _close(_error: BaseException | None) -> None:
    session: AsyncSession | None = g.pop("db", None)
    if session is not None:
        # Rolls back whatever was not committed. A client that goes away cancels its
        # request, and the cancellation can land here: shielded, the rollback still
        # runs to its end, so the connection never goes back holding SQLite's write lock.
        await asyncio.shield(session.close())
