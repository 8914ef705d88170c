"""The site's settings for each request, and the one origin its links are made for.

Before any view, the settings are read for the content clock's moment (the same read the
page pipeline uses, web/pages/clock.py): each process keeps the settings of the moment
it last saw, so a kept page costs no statement for them, and a save (which moves the
clock) is seen by every worker on its next request.

With a base URL (QUIRE_BASE_URL, or /admin/settings), a request for another host is
answered 301 to the same path there, and every link the app builds (canonical links,
og:url, feeds, the sitemap, the API) uses the base URL's scheme and host, whatever the
Host header said. Only the host is compared, not the scheme: behind a router that ends
TLS without saying so, a redirect to https would come back as http and loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from quart import Quart, current_app, g, redirect, request
from quart.globals import request_ctx
from werkzeug.exceptions import BadRequest, NotFound
from werkzeug.wrappers import Response as WerkzeugResponse

from components import authors
from components import site as site_settings
from components.authors import Byline
from components.clock import Moment
from components.site import Site
from web.database import get_db
from web.pages.clock import clock_of
from web.pages.door import SCOPE_CLOCK_ERROR, SCOPE_MOMENT, extras

SITE = "quire.site"
# Endpoints that answer whatever the host and need no settings: files and health probes
# (a platform's probe asks by the instance's own address).
UNCHECKED = frozenset({"static", "health.healthz"})


def init_app(app: Quart) -> None:
    # Before the page pipeline's early answer, so that another host's request is
    # redirected before any kept page could answer it.
    app.before_request(_load)
    app.context_processor(_template_globals)


def fixed() -> dict[str, Any]:
    """The settings the environment fixes (they win over the saved ones)."""
    values: dict[str, Any] = current_app.config["SITE_FIXED"]
    return values


def current() -> Site:
    """This request's settings; before they could be read (an error in the way), the
    environment's over the defaults."""
    found: Site | None = g.get("site")
    return found if found is not None else site_settings.merged({}, fixed())


@dataclass(frozen=True)
class _Kept:
    moment: Moment
    site: Site
    default_author: Byline | None


async def for_moment(moment: Moment) -> _Kept:
    """The settings and the default author as of `moment`, read once per moment by each
    process (two statements)."""
    kept: _Kept | None = current_app.extensions.get(SITE)
    if kept is not None and kept.moment == moment:
        return kept
    db = get_db()
    found = _Kept(moment, await site_settings.load(db, fixed()), await authors.default_byline(db))
    current_app.extensions[SITE] = found
    return found


def default_author() -> Byline | None:
    """Who posts without an author are by, for this request."""
    kept: _Kept | None = g.get("site_kept")
    return kept.default_author if kept is not None else None


async def _load() -> WerkzeugResponse | None:
    if request.endpoint in UNCHECKED:
        return None
    scope = extras(request.scope)
    if (error := scope.pop(SCOPE_CLOCK_ERROR, None)) is not None:
        raise error
    moment: Moment | None = scope.get(SCOPE_MOMENT)
    if moment is None:
        moment = await clock_of(current_app.extensions).now()
        scope[SCOPE_MOMENT] = moment  # the page pipeline reads the same moment
    g.site_kept = await for_moment(moment)
    site = g.site = g.site_kept.site
    if not site.base_url:
        return None
    if request.host.lower() != site.host:
        if request.method not in ("GET", "HEAD"):
            raise BadRequest(f"This site answers at {site.base_url}, not at {request.host}.")
        path = request.full_path.removesuffix("?")
        return redirect(site.base_url + request.root_path + path, 301)
    if request.scheme != site.scheme:
        # The request's own context made its URL adapter from the request: links must be
        # made for the base URL's scheme instead.
        request_ctx.url_adapter = current_app.url_map.bind(
            site.host,
            script_name=request.root_path or None,
            url_scheme=site.scheme,
        )
    return None


def fixed_origin_required() -> None:
    """404 where links must not follow the request's Host: in production without a base
    URL, any request could name its own host, and the links (in mails, in federated
    documents) would point there."""
    if current_app.config["QUIRE_ENV"] == "production" and not current().base_url:
        raise NotFound("This needs the site's address (base URL) to be set.")


def origin() -> str:
    """The scheme and host that browsers see this site at."""
    site = current()
    return site.base_url or f"{request.scheme}://{request.host}"


def _template_globals() -> dict[str, Any]:
    return {"site": current(), "default_author": default_author()}
