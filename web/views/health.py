"""`/healthz`: is this process alive, and can it reach its database?

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

import asyncio
import time

from quart import Blueprint, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout

from components.db import outage_summary
from web.database import get_engine

bp = Blueprint("health", __name__)

# Once a connection is in hand, how long the database has to answer `SELECT 1`. A platform's
# check should fail fast behind a dead database, but not when only the CPU is busy.
ROUND_TRIP_TIMEOUT_SECONDS = 5.0


@bp.get("/healthz")
async def healthz() -> tuple[Response, int]:
    """What was measured, apart: the wait for a working connection from the pool (long
    when this process is busy) and the database's round trip once it has one.

    200 when the database answered; 503 "busy" when no connection came free in the
    pool's own time (QUIRE_DB_POOL_TIMEOUT), 503 "unreachable" only when the database
    did not answer.
    """
    started = time.perf_counter()
    try:
        connection = await get_engine().connect()
    except PoolTimeout:
        waited = _ms_since(started)
        current_app.logger.warning("health check: no free connection after %s ms", waited)
        return _answer(503, status="error", database="busy", pool_wait_ms=waited)
    except Exception as error:  # connecting failed: out of reach
        return _unreachable(error)
    waited = _ms_since(started)
    try:
        asked = time.perf_counter()
        async with asyncio.timeout(ROUND_TRIP_TIMEOUT_SECONDS):
            await connection.execute(text("SELECT 1"))
        round_trip = _ms_since(asked)
    except Exception as error:  # no answer, whatever the cause
        return _unreachable(error)
    finally:
        await connection.close()
    return _answer(200, status="ok", database="ok", database_ms=round_trip, pool_wait_ms=waited)


def _unreachable(error: BaseException) -> tuple[Response, int]:
    current_app.logger.warning("health check: database unreachable: %s", outage_summary(error))
    return _answer(503, status="error", database="unreachable")


def _answer(code: int, **body: object) -> tuple[Response, int]:
    response = jsonify(body)
    response.cache_control.no_store = True
    return response, code


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
