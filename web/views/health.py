"""`/healthz`: is this process alive, and can it reach its database?

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

import asyncio
import time

from quart import Blueprint, Response, current_app, jsonify
from sqlalchemy import text

from web.database import get_engine

bp = Blueprint("health", __name__)

# A platform's health check should fail fast rather than pile up behind a dead database.
DATABASE_TIMEOUT_SECONDS = 2.0


@bp.get("/healthz")
async def healthz() -> tuple[Response, int]:
    """200 with the database round-trip time, or 503 when the database does not answer."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT_SECONDS):
            async with get_engine().connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to reach the database is a 503, not a 500
        current_app.logger.warning("health check: database unreachable: %s", error)
        response, status = jsonify(status="error", database="unreachable"), 503
    else:
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
        response, status = jsonify(status="ok", database="ok", database_ms=elapsed_ms), 200
    response.cache_control.no_store = True
    return response, status
