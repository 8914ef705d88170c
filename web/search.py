"""Full-text search: the results page, and the same results live under the header's box."""

from __future__ import annotations

from quart import Blueprint, Response, request

from components import search
from web.database import get_db
from web.htmx import render
from web.pagecache import cached

bp = Blueprint("search", __name__)

PER_PAGE = 10


@bp.get("/search")
@cached
async def results() -> Response:
    """Posts matching `?q=`, best first; any text at all is a valid query."""
    query = request.args.get("q", "")
    page = request.args.get("page", 1, type=int) or 1
    found = await search.search(get_db(), query, page=page, per_page=PER_PAGE)
    return await render("search.html", "partials/search_results.html", q=query, found=found)
