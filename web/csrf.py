"""Cross-site request forgery: every unsafe request must come from our own pages.

Two checks, both required. The browser's own word first: `Sec-Fetch-Site` (or, from
older browsers, `Origin`) must name this site. Then a per-session token, sent as a
hidden form field or, by htmx, as the `X-CSRF-Token` header that `<body>` passes
down with `data-hx-headers_inherited`. A refused request stops before any view runs, so
it changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TypeVar

from quart import Quart, abort, current_app, request, session

from web import site

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
_KEY = "csrf"
V = TypeVar("V", bound=Callable[..., object])
EXPIRED = (
    "This form has expired or was sent from another site. Reload the page and try again; "
    "what you typed is still in the form."
)


def init_app(app: Quart) -> None:
    app.before_request(_check)
    app.jinja_env.globals["csrf_token"] = token
    app.jinja_env.globals["existing_csrf_token"] = existing_token


def token() -> str:
    """This session's token, made on first use (so pages without forms set no cookie)."""
    if _KEY not in session:
        session[_KEY] = secrets.token_urlsafe(32)
    return session[_KEY]


def existing_token() -> str | None:
    """The token, if this browser already has a session; a reader without one is not
    given one (the session is not even read, so public pages do not vary on cookies)."""
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return None
    return session.get(_KEY)


def open_to_readers(view: V) -> V:
    """Mark a view that readers without a session may post to (the comment form).

    Public pages carry no session, so they cannot carry its token; for a browser with
    no session the same-origin check stands alone, and there is nothing of theirs a
    forged request could act for. A browser that has a session still sends its token.
    """
    view.csrf_open_to_readers = True  # type: ignore[attr-defined]
    return view


def open_to_link_holders(view: V) -> V:
    """Mark a view that a signed link in a mail authorises (unsubscribe, confirm).

    RFC 8058's one-click unsubscribe is a POST that the reader's mail provider sends,
    with no cookie and no token; the link's own signature is what proves the reader.
    The same-origin check still stands.
    """
    view.csrf_open_to_link_holders = True  # type: ignore[attr-defined]
    return view


def open_to_other_sites(view: V) -> V:
    """Mark an endpoint other servers post to (Webmention): no browser of ours sends it,
    and it acts for no one, so neither check applies."""
    view.csrf_open_to_other_sites = True  # type: ignore[attr-defined]
    return view


def rotate() -> None:
    """A new token at sign-in and sign-out: one seen before then is worthless after."""
    session[_KEY] = secrets.token_urlsafe(32)


def _same_site() -> bool:
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        # "none" is the user's own act: typed into the address bar, a bookmark.
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        # Neither header: not a browser that could be tricked; the token still decides.
        return True
    return origin == site.origin()


def _has_session() -> bool:
    # Either cookie counts: a signed-in writer always proves the token.
    signed_in = current_app.config.get("QUART_AUTH_COOKIE_NAME", "")
    return _KEY in session or signed_in in request.cookies


async def _check() -> None:
    if request.method in SAFE_METHODS or request.routing_exception is not None:
        # A 404 or 405 runs no view, so it can change nothing: let it answer as such.
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "csrf_open_to_other_sites", False):
        return
    if not _same_site():
        abort(403, "This request came from another site, so it was refused.")
    if getattr(view, "csrf_open_to_readers", False) and not _has_session():
        return
    if getattr(view, "csrf_open_to_link_holders", False):
        return
    sent = request.headers.get(HEADER)
    if sent is None:
        sent = (await request.form).get(FIELD)
    expected = session.get(_KEY)
    if not sent or not expected or not secrets.compare_digest(str(sent), str(expected)):
        abort(403, EXPIRED)
