"""Who is signed in: quart-auth carries a signed session token in a cookie, and the
database says whether that session is still alive (logout and password changes end it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

import quart_auth
from quart import Quart, abort, g, request, url_for

from components import accounts
from components.accounts import REMEMBERED_FOR, SignedIn
from components.models import User
from web.csrf import SAFE_METHODS
from web.database import get_db
from web.responses import see_other

P = ParamSpec("P")
R = TypeVar("R")
COOKIE = "quire_auth"


def init_app(app: Quart) -> None:
    app.config.update(
        QUART_AUTH_COOKIE_NAME=COOKIE,
        QUART_AUTH_COOKIE_SECURE=app.config["SESSION_COOKIE_SECURE"],
        QUART_AUTH_COOKIE_SAMESITE="Lax",
        QUART_AUTH_COOKIE_HTTP_ONLY=True,
        QUART_AUTH_DURATION=int(REMEMBERED_FOR.total_seconds()),
        QUART_AUTH_SALT="quire.auth",
    )
    quart_auth.QuartAuth(app)
    app.jinja_env.globals["signed_in_user"] = current_user


async def signed_in() -> SignedIn | None:
    """The live session behind this request's cookie, looked up once per request."""
    if "signed_in" not in g:
        g.signed_in = None
        token = quart_auth.current_user.auth_id
        if token:
            g.signed_in = await accounts.find_session(get_db(), token)
            if g.signed_in is None:
                # Ended elsewhere or expired: drop the dead cookie.
                quart_auth.logout_user()
    return g.signed_in


async def current_user() -> User | None:
    found = await signed_in()
    return found.user if found else None


async def sign_in(user: User, *, remember: bool) -> None:
    token = await accounts.start_session(
        get_db(), user, remember=remember, user_agent=request.headers.get("User-Agent", "")
    )
    quart_auth.login_user(quart_auth.AuthUser(token), remember=remember)
    # Looked up afresh if asked again in this request.
    g.pop("signed_in", None)


async def sign_out() -> None:
    token = quart_auth.current_user.auth_id
    if token:
        await accounts.end_session(get_db(), token)
    quart_auth.logout_user()
    g.signed_in = None


def client_ip() -> str:
    """The client's address, as the proxy settings let us believe it (for rate limits)."""
    return (request.remote_addr or "unknown")[:45]


def safe_next(target: str | None, default: str) -> str:
    """Where to go after signing in: only ever a path on this site, in printable ASCII (a
    control character would make the Location header one no server can send)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if not target.isascii() or not target.isprintable() or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def login_required(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | Any]]:
    """Signed-in users only: a page asks to sign in first, an action is refused."""

    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Any:
        if await current_user() is None:
            if request.method in SAFE_METHODS:
                here = request.full_path.rstrip("?")
                return see_other(url_for("accounts.login", next=here))
            abort(401)
        return await view(*args, **kwargs)

    return wrapper


def admin_required(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R | Any]]:
    @login_required
    @wraps(view)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | Any:
        user = await current_user()
        if user is None or not user.is_admin:
            abort(403)
        return await view(*args, **kwargs)

    return wrapper
