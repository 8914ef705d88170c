"""The Subscribers page, for admins: how many read by email, their addresses, a CSV of
them all, and removing one. Addresses are shown nowhere else.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app

from components.models import SubscriberState
from components.newsletter import subscribers
from web import auth, notices
from web.database import get_db
from web.listing import page_asked, state_asked
from web.pages.respond import unstored
from web.responses import render, see_other

bp = Blueprint("subscribers", __name__, url_prefix="/admin/subscribers")


@bp.get("/")
@auth.admin_required
async def index() -> Response:
    """Every subscriber, newest first, a hundred a page; filtered by state if asked."""
    state = state_asked(SubscriberState, "subscriber")
    page = page_asked()
    listing = await subscribers.listing(get_db(), page=page, state=state)
    response = await render(
        "subscribers.html",
        "subscribers.html",
        listing=listing,
        state=state,
        states=list(SubscriberState),
        mail_on=current_app.config["MAIL"] is not None,
        notice=notices.notice(),
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/subscribers.csv")
@auth.admin_required
async def export() -> Response:
    """Every subscriber as CSV: address, state and dates."""
    body = await subscribers.as_csv(get_db())
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="subscribers.csv"'
    response = await unstored(response)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<int:subscriber_id>/remove")
@auth.admin_required
async def remove(subscriber_id: int) -> Response:
    """Remove an address for good, with the mails still queued for it."""
    found = await subscribers.remove(get_db(), subscriber_id)
    if found is None:
        abort(404, "This subscriber was already removed.")
    return see_other(notices.url_with_notice("subscribers.index", f"Removed {found.email}."))
