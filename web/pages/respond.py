"""The Quart path of the page pipeline: what every view's page goes through.

Before the view, a public page for a reader without cookies is answered from the clock:
304 when the reader's copy is current, else the page kept for this moment of the content,
or the page another request is rendering right now. Otherwise the view renders it and
`respond` keeps it for the next readers, when it may be kept, and answers it through the
same function as the front door (web/pages/answer.py).

Only views marked `@cached` are kept, only for GET requests without cookies, and only
200s that neither set a cookie nor touched the session.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from quart import Quart, Response, current_app, g, request, session
from werkzeug.datastructures import Headers

from components import clock
from components.clock import Moment
from web import htmx
from web.database import get_db
from web.negotiation import wants_activity
from web.pages.answer import (
    BUILD,
    VARY,
    Answer,
    Asked,
    Validators,
    answer,
    body_validators,
    build_digest,
    cache_control,
    is_current,
    kept_validators,
    not_modified,
)
from web.pages.clock import clock_of, close_clock
from web.pages.coding import entry_of
from web.pages.door import SCOPE_KEPT, SCOPE_MOMENT, extras
from web.pages.store import PAGES, Entry, Key, Pages

V = TypeVar("V", bound=Callable[..., object])
# What an answer carries over from the response its page was rendered into.
KEPT_HEADERS = ("Content-Type", "Cache-Control", "Vary", "Content-Language")


def cached(view: V) -> V:
    """Mark a public view whose answers to readers without cookies may be kept."""
    view.page_cache = True  # type: ignore[attr-defined]
    return view


def init_app(app: Quart) -> None:
    app.extensions[PAGES] = Pages(app.config["PAGE_CACHE_BYTES"])
    app.extensions[BUILD] = build_digest(app)
    # Registered after the other checks (size limits, CSRF), so those still come first.
    app.before_request(_answer_early)
    app.teardown_request(_land)
    app.after_serving(close_clock)


def _page() -> tuple[Moment, Key] | None:
    """The clock's moment and the page's key, when this request's page may be kept."""
    page: tuple[Moment, Key] | None = g.get("page")
    return page


def _kept_page() -> tuple[Moment, Key]:
    page = _page()
    assert page is not None, "only a page that may be kept is kept"
    return page


def _pages() -> Pages:
    pages: Pages = current_app.extensions[PAGES]
    return pages


def _asked() -> Asked:
    return Asked(
        request.accept_encodings,
        request.if_none_match,
        request.if_modified_since,
        head=request.method == "HEAD",
    )


def _may_keep() -> bool:
    if request.method != "GET" or request.cookies or not _pages().budget:
        return False
    if wants_activity(request.headers.get):
        return False  # the Article, not the page (web/views/federation.py)
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "page_cache", False))


async def _answer_early() -> Response | None:
    """Before the view: 304 when the reader's copy is current, or the kept page."""
    if not _may_keep():
        return None
    # The front door (web/pages/door.py) read the clock already, after the request came.
    told: Moment | None = extras(request.scope).get(SCOPE_MOMENT)
    moment = told or await clock_of(current_app.extensions).now()
    key: Key = (request.host_url, request.full_path, htmx.wants_fragment())
    g.page = (moment, key)
    validators = kept_validators(current_app.extensions[BUILD], moment, key)
    asked = _asked()
    if is_current(validators, asked):
        shared = [("Cache-Control", cache_control(storable=True, private=False))]
        return _response(not_modified(validators, asked, [*shared, ("Vary", ", ".join(VARY))]))
    pages = _pages()
    entry = pages.get(moment, key)
    if entry is None:
        flight = pages.join_or_render(moment, key)
        if flight is None:
            g.rendering = True  # this request renders it, for the others
            return None
        # A request that goes away stops waiting, without failing the renderer.
        entry = await asyncio.shield(flight)
        if entry is None:
            return None
    return await _kept_answer(entry, validators, asked)


async def _land(_error: BaseException | None) -> None:
    """Release those waiting for a page this request was to render but did not keep
    (an error, a redirect, a cookie): each renders its own."""
    if g.pop("rendering", False):
        moment, key = _kept_page()
        _pages().rendered(moment, key, None)


async def last_changed() -> datetime:
    """The Last-Modified of every public page and feed: the content clock."""
    page = _page()  # read already, when the page may be kept
    if page is not None:
        return page[0].changed_at
    # Read after the request came (web/site.py reads it before any view).
    told: Moment | None = extras(request.scope).get(SCOPE_MOMENT)
    return told.changed_at if told is not None else await clock.last_changed(get_db())


async def respond(response: Response, changed_at: datetime | None = None) -> Response:
    """A public 200 (a page, a feed, an API answer) for this reader: kept for the next
    ones when it may be, with its validators, and 304 when the reader's copy is current.
    `changed_at` is its Last-Modified when the content clock is not (the API's document)."""
    private = bool(request.cookies)
    response.headers["Cache-Control"] = cache_control(storable=True, private=private)
    response.vary.update(VARY)
    entry = entry_of(_kept_headers(response), await response.get_data(as_text=False))
    page = _page()
    if page is not None and _may_keep_answer(response):
        moment, key = page
        pages = _pages()
        pages.put(moment, key, entry)
        answered = await _kept_answer(
            entry, kept_validators(current_app.extensions[BUILD], moment, key), _asked()
        )
        # After the answer, so that its coding is kept before those waiting go on.
        if g.pop("rendering", False):
            pages.rendered(moment, key, entry)
        return answered
    validators = body_validators(entry, changed_at or await last_changed())
    return _into(response, await answer(entry, validators, _asked(), _secret()))


async def unstored(response: Response) -> Response:
    """An answer never to be reused (an error page, an action's fragment), with its
    stamps filled in and compressed as the reader accepts."""
    response.headers["Cache-Control"] = cache_control(storable=False, private=False)
    response.vary.update(VARY)
    entry = entry_of(_kept_headers(response), await response.get_data(as_text=False))
    return _into(
        response, await answer(entry, None, _asked(), _secret(), status=response.status_code)
    )


def _may_keep_answer(response: Response) -> bool:
    return (
        response.status_code == 200
        and "Set-Cookie" not in response.headers
        and not session.accessed
    )


def _kept_headers(response: Response) -> list[tuple[str, str]]:
    return [(name, response.headers[name]) for name in KEPT_HEADERS if name in response.headers]


def _secret() -> str:
    secret: str = current_app.config["SECRET_KEY"]
    return secret


async def _kept_answer(entry: Entry, validators: Validators, asked: Asked) -> Response:
    answered = await answer(entry, validators, asked, _secret(), _pages())
    extras(request.scope)[SCOPE_KEPT] = _kept_page()[1]  # for the front door to learn
    return _response(answered)


def _response(answered: Answer) -> Response:
    """A new response of this answer, with nothing else."""
    headers = [*answered.headers, *answered.made]
    if answered.status == 304:
        return Response(status=304, headers=Headers(headers))
    return Response(answered.body, status=answered.status, headers=Headers(headers))


def _into(response: Response, answered: Answer) -> Response:
    """The view's own response, made this answer (it keeps what else the view set)."""
    if answered.status == 304:
        changed = _response(answered)
        for cookie in response.headers.getlist("Set-Cookie"):
            changed.headers.add("Set-Cookie", cookie)
        return changed
    response.set_data(answered.body)
    for name, value in answered.made:
        response.headers[name] = value
    return response
