"""New posts by email, for readers: subscribe, confirm, unsubscribe.

Every address here answers 404 while mail is off (no QUIRE_SMTP_URL). The form says the
same thing whatever the address's state, so it tells no one who subscribes. The links in
mails are signed (components/newsletter/tokens.py); following one shows a page with a
button, and only the button's POST acts, because mail scanners open every link they
see. RFC 8058's one-click unsubscribe posts to the same address without a session.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from quart import Blueprint, Response, abort, current_app, request
from sqlalchemy import func, select

from components.models import Delivery, utcnow
from components.newsletter import subscribers, tokens
from components.newsletter.subscribers import BadAddress
from web import csrf, site
from web.database import get_db
from web.responses import render

bp = Blueprint("newsletter", __name__)

# Confirmation mails queued by the form in an hour, all addresses together: past it the
# form is refused for a while, so that it cannot be used to send mail in bulk.
ASKS_PER_HOUR = 300
HOUR = timedelta(hours=1)


@bp.before_request
async def mail_is_on() -> None:
    if current_app.config["MAIL"] is None:
        abort(404)
    site.fixed_origin_required()  # the links in mails


async def _page(template: str, status: int = 200, **context: Any) -> Response:
    response = await render(template, template, status=status, **context)
    # The signed link is in the address: kept by no cache, sent to no other site.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/subscribe")
async def subscribe_form() -> Response:
    """The form that asks for an address."""
    return await _page("subscribe.html", email="", errors={})


@bp.post("/subscribe")
@csrf.open_to_readers
async def subscribe() -> Response:
    """Queue a confirmation mail; the answer is the same for every address."""
    typed = (await request.form).get("email", "")
    db = get_db()
    recent = await db.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(Delivery.purpose == "confirm", Delivery.created_at > utcnow() - HOUR)
    )
    if (recent or 0) >= ASKS_PER_HOUR:
        response = await _page(
            "subscribe.html",
            429,
            email=typed,
            errors={"email": "Too many people are subscribing right now. Try again in an hour."},
        )
        response.headers["Retry-After"] = "3600"
        return response
    try:
        await subscribers.ask(db, typed, origin=site.origin())
    except BadAddress as bad:
        return await _page("subscribe.html", 422, email=typed, errors={"email": str(bad)})
    return await _page(
        "subscribe.html", email=subscribers.clean_address(typed), sent=True, errors={}
    )


def _holder(purpose: str, token: str) -> tokens.Holder:
    try:
        return tokens.read(current_app.config["SECRET_KEY"], purpose, token)
    except tokens.BadLink as bad:
        abort(400, str(bad))


@bp.get("/subscribe/confirm/<token>")
async def confirm_form(token: str) -> Response:
    """The confirmation link: a button that confirms."""
    holder = _holder(tokens.CONFIRM, token)
    return await _page("newsletter_link.html", action="confirm", token=token, email=holder.email)


@bp.post("/subscribe/confirm/<token>")
@csrf.open_to_link_holders
async def confirm(token: str) -> Response:
    """Confirm the subscription the link names."""
    holder = _holder(tokens.CONFIRM, token)
    found = await subscribers.confirm(get_db(), holder.subscriber_id, holder.email)
    if found is None:
        abort(404, "This address is no longer on the list. Subscribe again to get new posts.")
    return await _page("newsletter_link.html", action="confirmed", email=holder.email)


@bp.get("/unsubscribe/<token>")
async def leave_form(token: str) -> Response:
    """The unsubscribe link: a button that unsubscribes."""
    holder = _holder(tokens.LEAVE, token)
    return await _page("newsletter_link.html", action="leave", token=token, email=holder.email)


@bp.post("/unsubscribe/<token>")
@csrf.open_to_link_holders
async def leave(token: str) -> Response:
    """Unsubscribe: from the page's button, or in one click from a mail client."""
    holder = _holder(tokens.LEAVE, token)
    await subscribers.leave(get_db(), holder.subscriber_id, holder.email)
    return await _page("newsletter_link.html", action="left", email=holder.email)
