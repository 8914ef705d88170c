"""The Following page, for admins: the fediverse accounts that the blog or an author
follows, following one more (found by its address, asked with a Follow), and unfollowing.

Following one waits on other servers (WebFinger, the account's actor document), so that
view opens its own short transactions (web/database.py); the others run as one.
"""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, request
from sqlalchemy.ext.asyncio import AsyncSession

from components import fetch
from components.activitypub import actors, following, remote
from components.models import FollowingState, RemoteActor
from components.outbox import queue
from web import auth, database, notices, site
from web.database import SESSIONMAKER, get_db
from web.federation import Links
from web.listing import page_asked
from web.responses import render, see_other

bp = Blueprint("following", __name__, url_prefix="/admin/following")


async def _page(
    *, errors: dict[str, str] | None = None, address: str = "", chosen: str = actors.BLOG
) -> Response:
    db = get_db()
    response = await render(
        "following.html",
        "following.html",
        status=422 if errors else 200,
        listing=await following.listing(db, page=page_asked()),
        states=FollowingState,
        speakers=await actors.choices(db),
        errors=errors or {},
        address=address,
        chosen=chosen,
        notice=notices.notice(),
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/")
@auth.admin_required
async def index() -> Response:
    """The accounts followed, newest first, and the form to follow one more."""
    return await _page()


@bp.post("/")
@auth.admin_required
@database.own_transactions
async def follow() -> Response:
    """Follow an account as the blog or an author: its server is asked (a Follow), and
    the answer shows here when it comes."""
    form = await request.form
    typed, username = form.get("address", ""), form.get("actor", actors.BLOG)
    try:
        address = following.read_address(typed)
    except following.Unknown as unknown:
        return await _page(errors={"address": str(unknown)}, address=typed, chosen=username)
    if username not in dict(await actors.choices(get_db())):
        return await _page(errors={"actor": "Choose the blog or an author."}, address=typed)
    await database.release()  # no transaction waits on the other server
    sessions = current_app.extensions[SESSIONMAKER]
    allow_private = current_app.config["FETCH_PRIVATE"]
    sign = actors.FetchSigner(sessions, Links(site.origin()).actor(actors.BLOG))
    try:
        async with fetch.client(allow_private=allow_private) as http:
            uri = await following.resolve(http, address, allow_private=allow_private, sign=sign)

            async def find(session: AsyncSession) -> int:
                return (await remote.find(session, http, uri, sign=sign)).id

            remote_id = await queue.in_transaction(sessions, find)
    except following.Unknown as unknown:
        return await _page(errors={"address": str(unknown)}, address=typed, chosen=username)
    except remote.Unreadable as unreadable:
        error = str(following.unreadable(unreadable))
        return await _page(errors={"address": error}, address=typed, chosen=username)
    origin = site.origin()

    async def ask(session: AsyncSession) -> str:
        actor = await actors.by_username(session, username)
        account = await session.get(RemoteActor, remote_id)
        if actor is None or account is None:
            abort(409, "The account or the actor went away meanwhile: try again.")
        found = await following.follow(
            session, actor.row, account, actor_uri=Links(origin).actor(username), origin=origin
        )
        if found.state is FollowingState.ACCEPTED:
            return f"@{username} already follows {account.handle}."
        return f"{account.handle} is asked to accept @{username} as a follower."

    message = await queue.in_transaction(sessions, ask)
    return see_other(notices.url_with_notice("following.index", message))


@bp.post("/<int:following_id>/unfollow")
@auth.admin_required
async def unfollow(following_id: int) -> Response:
    """Stop following an account: its server is told (an Undo)."""
    found = await following.unfollow(get_db(), following_id, origin=site.origin())
    if found is None:
        abort(404, "This account is no longer followed.")
    message = f"{found.remote.handle} is no longer followed."
    return see_other(notices.url_with_notice("following.index", message))
