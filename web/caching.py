"""HTTP caching of public responses: who may keep them, and for how long.

Browsers revalidate every time (max-age=0 with an ETag and Last-Modified), so a
reader never sees a stale page; a shared cache or CDN may serve a public page for
a minute (s-maxage). A request that carries cookies (a signed-in author, later)
gets a private answer that no shared cache may keep.
"""

from __future__ import annotations

from datetime import datetime

from quart import Response, request

from components import changes
from web import pagecache
from web.database import get_db

SHARED_CACHE_SECONDS = 60


def set_policy(response: Response) -> None:
    if request.cookies:
        response.cache_control.private = True
        response.cache_control.no_cache = True
    else:
        response.cache_control.public = True
        response.cache_control.max_age = 0
        response.cache_control.s_maxage = SHARED_CACHE_SECONDS


async def last_changed() -> datetime:
    """The Last-Modified of every public page and feed: the content clock."""
    state = pagecache.state()  # read already, when the page may be kept
    return state.changed_at if state else await changes.last_changed(get_db())


async def conditional(response: Response, last_modified: datetime | None = None) -> Response:
    """Add the validators and answer 304 when the client's copy is still current.

    A public page for a reader without cookies has been checked against the clock before
    it was rendered (web/pagecache.py), and is kept for the next reader.
    """
    set_policy(response)
    if pagecache.state() is not None and (kept := await pagecache.keep(response)):
        return kept
    response.last_modified = last_modified or await last_changed()
    await response.add_etag()
    return await response.make_conditional(request)
