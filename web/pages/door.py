"""The front door: kept pages answered before the request reaches Quart.

A reader without cookies asking for a page the store holds (web/pages/store.py) needs
none of the framework: no request context, no routing, no session, no hooks. This ASGI
middleware, inside the access log and the proxy fix, reads the content clock as every
request does and answers from the kept page through the same function as Quart's path
(web/pages/answer.py), with the headers Quart's own answer for that page carried. It
learns both from Quart: when an answer was made from a kept page, the door notes the
address it was asked for, the page's key and the answer's headers. So it only ever
answers as Quart did, and anything it does not know goes on to Quart unchanged.

The checks that come before any page still come first: a request whose headers are too
large, or that carries cookies, or is not a GET, goes to Quart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from quart import Quart

from components.clock import Moment
from web import htmx, limits
from web.negotiation import wants_activity
from web.pages.answer import BUILD, Asked, answer, kept_validators
from web.pages.clock import clock_of
from web.pages.store import PAGES, Entry, Key, Pages

# In an ASGI request's scope: the clock as the front door read it, and the key of the kept
# page the answer was made from (web/pages/respond.py), for the door to learn.
SCOPE_MOMENT = "quire.moment"
# What the door's read of the clock raised (the database out of reach, say): Quart raises
# it again before any view, so that its error pages answer (a 503 with Retry-After), in the
# access log, rather than the server's bare 500.
SCOPE_CLOCK_ERROR = "quire.clock_error"
SCOPE_KEPT = "quire.kept"
ASGIApp = Any  # Quart's asgi_app, or a middleware around it
# Made afresh for each answer (or by the server, or the access log): never learned.
PER_ANSWER = frozenset(
    (b"content-length", b"content-encoding", b"etag", b"last-modified", b"date", b"server")
)
# Addresses remembered; past this many (someone varying a query string, say) it starts over.
MAX_DOORS = 4096

# host, server, scheme, root path, path, query string, fragment or page
DoorKey = tuple[str | None, tuple[Any, ...], str, str, str, bytes, bool]


@dataclass(frozen=True)
class Door:
    """What Quart answered for an address: the kept page's key, and the headers."""

    key: Key
    headers: tuple[tuple[bytes, bytes], ...]


def extras(scope: Scope) -> dict[str, Any]:
    """The scope as the plain dict it is, for the keys this pipeline adds to it: ASGI lets
    a middleware add keys, and hypercorn's TypedDicts do not list them."""
    return cast(dict[str, Any], scope)


def init_app(app: Quart) -> None:
    app.asgi_app = FrontDoor(app, app.asgi_app)  # type: ignore[method-assign]


class FrontDoor:
    def __init__(self, app: Quart, inner: ASGIApp) -> None:
        self.app = app
        self.inner = inner
        self.doors: dict[DoorKey, Door] = {}

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.inner(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            # The first of a repeated header, as werkzeug's Headers.get gives it.
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        pages: Pages = self.app.extensions[PAGES]
        if (
            "cookie" in headers
            or wants_activity(headers.get)
            or not pages.budget
            or limits.headers_size(scope["headers"]) > self.app.config["MAX_HEADER_BYTES"]
        ):
            await self.inner(scope, receive, send)
            return
        address: DoorKey = (
            headers.get("host"),
            tuple(scope.get("server") or ()),  # a list, from some ASGI servers
            scope["scheme"],
            scope.get("root_path", ""),
            scope["path"],
            scope.get("query_string", b""),
            htmx.fragment_wanted(headers.get),
        )
        door = self.doors.get(address)
        if door is not None:
            try:
                moment = await clock_of(self.app.extensions).now()
            except Exception as error:  # Quart's error handling takes it
                extras(scope)[SCOPE_CLOCK_ERROR] = error
                await self.inner(scope, receive, send)
                return
            entry = pages.get(moment, door.key)
            if entry is not None:
                await self._answer(door, entry, moment, headers, pages, send)
                return
            extras(scope)[SCOPE_MOMENT] = moment  # Quart need not read the clock again
        await self.inner(scope, receive, self._learning(address, scope, send))

    def _learning(self, address: DoorKey, scope: Scope, send: ASGISendCallable) -> Any:
        async def learn(message: Any) -> None:
            if (
                message["type"] == "http.response.start"
                and message["status"] == 200
                and (key := extras(scope).get(SCOPE_KEPT)) is not None
            ):
                kept = tuple(
                    (name.lower(), value)
                    for name, value in message["headers"]
                    if name.lower() not in PER_ANSWER
                )
                if not any(name == b"set-cookie" for name, _ in kept):
                    if len(self.doors) >= MAX_DOORS:
                        self.doors.clear()
                    self.doors[address] = Door(key, kept)
            await send(message)

        return learn

    async def _answer(
        self,
        door: Door,
        entry: Entry,
        moment: Moment,
        headers: dict[str, str],
        pages: Pages,
        send: ASGISendCallable,
    ) -> None:
        validators = kept_validators(self.app.extensions[BUILD], moment, door.key)
        answered = await answer(
            entry, validators, Asked.from_headers(headers), self.app.config["SECRET_KEY"], pages
        )
        start = [*door.headers, *((n.lower().encode(), v.encode()) for n, v in answered.made)]
        if answered.status == 200:
            start.append((b"content-length", str(len(answered.body)).encode()))
        await send({"type": "http.response.start", "status": answered.status, "headers": start})
        await send({"type": "http.response.body", "body": answered.body, "more_body": False})
