"""Error pages: a full page for browsers, the same message as a fragment for htmx."""

from __future__ import annotations

from quart import Quart, Response, current_app, request
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from components import posts
from components.db import is_unavailable, outage_summary
from web import inputs
from web.database import get_db
from web.responses import moved, render
from web.urls import post_url
from web.views import api

MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in first. If you were signed in, your session has ended: sign in again.",
    403: "You are not allowed to do that.",
    404: "There is nothing at this address. It may have moved, or never existed.",
    405: "This address does not accept that kind of request.",
    # Names the limit (filled in from the settings): "too large" alone leaves one guessing.
    413: "What you sent is too large: an image may be up to {upload_mb} MB, and a post's text "
    "up to a million characters.",
    429: "Too many requests. Please wait a moment and try again.",
    503: "The site is too busy to answer just now. Nothing was changed: please try again "
    "in a moment.",
}
# Seconds a client is asked to wait when the database is out of reach or overloaded.
RETRY_AFTER_SECONDS = 5


def init_app(app: Quart) -> None:
    app.register_error_handler(HTTPException, page_for)
    app.register_error_handler(Exception, _unexpected_error)


async def page_for(error: HTTPException) -> Response:
    """The error page (or fragment) for `error`, public so that a blueprint's own handler
    can fall back on it."""
    if api.serves(request.path):
        # An error under /api/ that the API's own handler never saw: a routing error (no
        # such address, a method other than GET) matched no endpoint, hence no blueprint,
        # and an unexpected exception comes here as a 500. The API answers both in JSON.
        return await api.error_response(error)
    status = error.code or 500
    if status == 404 and request.method in {"GET", "HEAD"} and inputs.storable(request.path):
        # Old slugs, Jekyll permalinks and Hugo aliases keep working for good.
        found = await posts.moved_to(get_db(), request.path)
        if found is not None:
            return moved(post_url(found))
        # Jekyll's and Hugo's "pretty" addresses: /2023/09/29/slug/, .../slug/index.html.
        if (bare := await _routed_without_slash(request.path)) is not None:
            query = request.query_string.decode("latin-1")
            return moved(f"{bare}?{query}" if query else bare)
    response = await render(
        "error.html",
        "partials/error.html",
        status=status,
        code=status,
        title=error.name,
        message=_message(error, status),
    )
    # Keep headers the exception carries (Allow on 405, Retry-After on 429).
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


async def _routed_without_slash(path: str) -> str | None:
    """`path` without its trailing slash or `/index.html`, when something is there."""
    bare = path.removesuffix("/index.html") if path.endswith("/index.html") else path.rstrip("/")
    if not bare or bare == path:
        return None
    adapter = current_app.create_url_adapter(request)
    if adapter is None:
        return None
    try:
        endpoint, values = adapter.match(bare, method="GET")
    except HTTPException:  # no route there, or one that would itself redirect
        return None
    # Posts and pages share routes with every slug: only send readers to one that exists.
    if endpoint == "blog.post":
        return bare if await posts.visible_post(get_db(), values["slug"]) else None
    if endpoint == "blog.page":
        return bare if await posts.find_page(get_db(), values["slug"]) else None
    return bare


async def _unexpected_error(error: Exception) -> Response:
    if is_unavailable(error):
        # Overload or an outage, not a bug: the client may try again, and nothing was kept.
        # One line each, no traceback: an outage of seconds would log thousands of them.
        current_app.logger.error("database unavailable: %s", outage_summary(error))
        response = await page_for(ServiceUnavailable())
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    current_app.logger.exception("unhandled error", exc_info=error)
    return await page_for(InternalServerError())


def _message(error: HTTPException, status: int) -> str:
    """What the view said when it aborted (`abort(400, "why")`), else our wording."""
    if error.description and error.description != type(error).description:
        return error.description
    if status == 413:
        return MESSAGES[413].format(upload_mb=current_app.config["MEDIA_MAX_BYTES"] // 1_000_000)
    return MESSAGES.get(status, error.description or "")
