"""The database for the app: one engine per serving process, one session per request."""

from __future__ import annotations

import asyncio

from quart import Quart, Response, current_app, g
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from components.db import make_engine, make_sessionmaker

ENGINE = "quire.engine"
SESSIONMAKER = "quire.sessionmaker"


def init_app(app: Quart) -> None:
    # `g` is reset after start-up, so the engine lives on app.extensions.
    @app.before_serving
    async def open_engine() -> None:
        engine = make_engine(app.config["DATABASE_URL"])
        app.extensions[ENGINE] = engine
        app.extensions[SESSIONMAKER] = make_sessionmaker(engine)

    @app.after_serving
    async def close_engine() -> None:
        engine: AsyncEngine | None = app.extensions.pop(ENGINE, None)
        app.extensions.pop(SESSIONMAKER, None)
        if engine is not None:
            await engine.dispose()

    app.after_request(_commit)
    app.teardown_request(_close)


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


async def _commit(response: Response) -> Response:
    # Only a successful response keeps its writes; an error page rolls them back.
    session: AsyncSession | None = g.get("db")
    if session is not None and response.status_code < 400:
        await session.commit()
    return response


async def _close(_error: BaseException | None) -> None:
    session: AsyncSession | None = g.pop("db", None)
    if session is not None:
        # Rolls back whatever was not committed. A client that goes away cancels its
        # request, and the cancellation can land here: shielded, the rollback still
        # runs to its end, so the connection never goes back holding SQLite's write lock.
        await asyncio.shield(session.close())
