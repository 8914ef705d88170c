"""The hybrid rendering rule: a whole page, or only the fragment htmx asked for.

htmx 4 marks a request for part of a page with `HX-Request: true` and
`HX-Request-Type: partial`. Boosted links, boosted forms and history restores
ask for `full`, and get the whole page like any plain browser request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from quart import Response, make_response, redirect, render_template, request

from web import caching, stamps

# Every request header the choice below reads, so that no cache mixes the two answers.
VARY = ("HX-Request", "HX-Request-Type", "HX-Boosted", "HX-History-Restore-Request")


def wants_fragment() -> bool:
    return fragment_wanted(request.headers.get)


def fragment_wanted(header: Callable[[str], str | None]) -> bool:
    """Does a request with these headers (looked up by lower-case name) want a fragment?
    Also asked by the front door (web/frontdoor.py), before there is a `request`."""
    return (
        header("hx-request") == "true"
        and header("hx-request-type") == "partial"
        and header("hx-boosted") != "true"
        and header("hx-history-restore-request") != "true"
    )


async def render(page: str, fragment: str, /, *, status: int = 200, **context: Any) -> Response:
    """Render `page`, or just `fragment` (a template the page includes) for htmx.

    A 200 carries an ETag and Last-Modified and is revalidated on every use
    (web/caching.py), so a browser never shows a stale page, nor a fragment in
    place of a page. Other statuses are never stored.
    """
    template = fragment if wants_fragment() else page
    response: Response = await make_response(await render_template(template, **context), status)
    response.vary.update(VARY)
    if status != 200:
        response.cache_control.no_store = True
        return await stamps.fill(response)
    return await stamps.fill(await caching.conditional(response))


async def fragment(template: str, /, *, status: int = 200, **context: Any) -> Response:
    """A piece of a page that only htmx asks for (an action's result): never cached."""
    response: Response = await make_response(await render_template(template, **context), status)
    response.vary.update(VARY)
    response.cache_control.no_store = True
    return await stamps.fill(response)


def see_other(url: str, *, reload: bool = False) -> Response:
    """Go to `url` after a form post or a refused page.

    fetch() follows a redirect before htmx sees it, so an htmx request is answered 200
    with `HX-Location` (htmx then fetches `url` and pushes it to history), or with
    `HX-Redirect` when the whole document must be loaded again (signing in or out
    changes what `<body>` itself carries); a plain browser gets a 303, which turns
    the POST into a GET.
    """
    if request.headers.get("HX-Request") == "true":
        response = Response("", 200)
        response.headers["HX-Redirect" if reload else "HX-Location"] = url
        response.vary.update(VARY)
        return response
    response = redirect(url, 303)
    response.vary.update(VARY)
    return response
