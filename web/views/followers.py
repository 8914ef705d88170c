"""The Followers page, for admins: the fediverse accounts that follow the blog or an
author, approving those that wait (when the site holds new followers), and removing one.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

from quart import Blueprint, Response, abort

from components.activitypub import followers
from components.models import FollowerState
from web import auth, notices, site
from web.database import get_db
from web.listing import page_asked, state_asked
from web.responses import render, see_other

bp = Blueprint("followers", __name__, url_prefix="/admin/followers")


@bp.get("/")
@auth.admin_required
async def index() -> Response:
    """Every follower, those waiting first, a hundred a page; filtered by state if asked."""
    state = state_asked(FollowerState, "follower")
    page = page_asked()
    response = await render(
        "followers.html",
        "followers.html",
        listing=await followers.listing(get_db(), page=page, state=state),
        state=state,
        states=list(FollowerState),
        manual=site.current().followers == "manual",
        notice=notices.notice(),
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<int:follower_id>/approve")
@auth.admin_required
async def approve(follower_id: int) -> Response:
    """Accept a follower who waits: their server is told."""
    found = await followers.approve(get_db(), follower_id, origin=site.origin())
    if found is None:
        abort(404, "This follower is no longer there.")
    message = f"{found.remote.handle} now follows."
    return see_other(notices.url_with_notice("followers.index", message))


@bp.post("/<int:follower_id>/remove")
@auth.admin_required
async def remove(follower_id: int) -> Response:
    """Refuse or remove a follower: their server is told."""
    found = await followers.remove(get_db(), follower_id, origin=site.origin())
    if found is None:
        abort(404, "This follower was already removed.")
    message = f"{found.remote.handle} no longer follows."
    return see_other(notices.url_with_notice("followers.index", message))
