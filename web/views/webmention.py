"""`POST /webmention`: other sites say that a page of theirs links to a post here.

What can be checked at once is (both addresses, the target a public post of this site)
and answered 400 with the reason; the rest is verified later by the outbox worker
(components/webmention/verifying.py), and the sender gets 202 at once. Answers are plain
text, for the program that sent it.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from quart import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from components import posts
from components.models import Post
from components.webmention import incoming
from web import csrf, site
from web.database import get_db

bp = Blueprint("webmention", __name__)


def _text(message: str, status: int) -> Response:
    response = Response(message + "\n", status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/webmention")
@csrf.open_to_other_sites
async def receive() -> Response:
    """Take a Webmention for verification."""
    form = await request.form
    source, target = form.get("source", "").strip(), form.get("target", "").strip()
    own_host = urlsplit(site.origin()).netloc.lower()
    db = get_db()
    try:
        incoming.check(source, target, own_host=own_host)
        post = await _post_at(target, own_host)
        await incoming.accept(db, post, source=source, target=target, ip=request.remote_addr or "")
    except incoming.Refused as refused:
        response = _text(str(refused), refused.status)
        if refused.status == 429:
            response.headers["Retry-After"] = "600"
        return response
    return _text("Accepted: the source will be fetched and checked, then moderated.", 202)


async def _post_at(target: str, own_host: str) -> Post:
    """The public post or page at `target`'s address; else Refused."""
    adapter = current_app.url_map.bind(own_host)
    try:
        endpoint, values = adapter.match(urlsplit(target).path, method="GET")
    except HTTPException:
        raise incoming.Refused("The target is not a post of this site.") from None
    if endpoint == "blog.post":
        found = await posts.visible_post(get_db(), str(values["slug"]))
    elif endpoint == "blog.page":
        found = await posts.find_page(get_db(), str(values["slug"]))
    else:
        raise incoming.Refused("The target is not a post of this site.")
    if found is None:
        raise incoming.Refused("The target is not a published post of this site.")
    return found
