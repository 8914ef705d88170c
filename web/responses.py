"""What views answer with: a page or the fragment htmx asked for, an action's fragment,
and the way on after a form post.

Pages and fragments go through the page pipeline (web/pages/respond.py), which decides
their headers, fills in their stamps and compresses them.
"""

from __future__ import annotations

from typing import Any

from quart import Response, render_template, request

from web.htmx import VARY, wants_fragment
from web.pages.respond import respond, unstored


async def render(page: str, fragment: str, /, *, status: int = 200, **context: Any) -> Response:
    """Render `page`, or just `fragment` (a template the page includes) for htmx.

    A 200 carries an ETag and Last-Modified and is revalidated on every use, so a browser
    never shows a stale page, nor a fragment in place of a page. Other statuses are never
    stored.
    """
    template = fragment if wants_fragment() else page
    response = Response(await render_template(template, **context), status)
    if status != 200:
        return await unstored(response)
    return await respond(response)


async def fragment(template: str, /, *, status: int = 200, **context: Any) -> Response:
    """A piece of a page that only htmx asks for (an action's result): never cached."""
    response = Response(await render_template(template, **context), status)
    return await unstored(response)


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
    response = moved(url, 303)
    response.vary.update(VARY)
    return response


def moved(url: str, status: int = 301) -> Response:
    """A redirect to `url`: 301 for an address that moved for good (a post's old one)."""
    response = Response("", status)
    response.headers["Location"] = url
    return response
