"""Full-text search: the results page, and the same results live under the header's box.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

import asyncio

from quart import Blueprint, Response, current_app, request

from components import search
from web.database import get_db
from web.htmx import wants_fragment
from web.pages.respond import cached
from web.responses import render

bp = Blueprint("search", __name__)

PER_PAGE = 10
# The header's live results are a short list of titles, with a link to the whole page:
# no snippets, which makes a search as you type about half as dear as a sent one.
LIVE_RESULTS = 5
# An uncached search is the costliest page a reader can ask for, and anyone can ask for a
# new one on every request. In each worker, this many run at once and the others wait:
# 64 at once on SQLite at 100,000 posts took a worker from 86 MB to 200 MB (FTS5 holds
# each query's word lists in memory while it runs), and served no more of them per second.
SEARCHES_AT_ONCE = 2
TURNS = "quire.search_turns"


@bp.get("/search")
@cached
async def results() -> Response:
    """Posts matching `?q=`, best first; any text at all is a valid query."""
    query = request.args.get("q", "")
    page = request.args.get("page", 1, type=int) or 1
    # The header's live results are asked for as a fragment, while a word is typed.
    live = wants_fragment()
    async with _turns():
        found = await search.search(
            get_db(),
            query,
            page=page,
            per_page=LIVE_RESULTS if live else PER_PAGE,
            typing=live,
            snippets=not live,
        )
    return await render("search.html", "partials/search_live.html", q=query, found=found)


def _turns() -> asyncio.Semaphore:
    """The worker's turns at searching (made on first use, in the loop that serves)."""
    turns: asyncio.Semaphore | None = current_app.extensions.get(TURNS)
    if turns is None:
        turns = current_app.extensions[TURNS] = asyncio.Semaphore(SEARCHES_AT_ONCE)
    return turns
