"""The Users page, for admins: who writes here, their roles, who may sign in, new accounts
and one-time password links. The same rules as `quire user` (components/people.py).

A row action answers htmx with the row alone and a plain form with a 303 back to the
page. A one-time link is the exception: it is answered in place, never redirected to,
so that it appears in no address, history or log, and the answer is never stored.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, abort, request, url_for

from components import accounts, people
from components.accounts import AccountError
from components.models import Role, User
from web import auth, notices
from web.database import get_db
from web.htmx import wants_fragment
from web.responses import fragment, render, see_other

bp = Blueprint("people", __name__, url_prefix="/admin/users")
CHOOSE_ROLE = "Choose a role: admin or author."
YOURSELF = "This is your own account: another admin can change its role or disable it."


async def _page(status: int = 200, **context: Any) -> Response:
    context.setdefault("errors", {})
    context.setdefault("form", {})
    context.setdefault("notice", notices.notice())
    context.setdefault("link", None)
    response = await render(
        "people.html",
        "partials/people.html",
        status=status,
        everyone=await people.everyone(get_db()),
        viewer=await auth.current_user(),
        roles=list(Role),
        **context,
    )
    if context["link"]:
        _secret(response)
    return response


def _secret(response: Response) -> Response:
    """An answer that carries a one-time link: kept nowhere, and its address sent nowhere."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


async def _person(user_id: int) -> User:
    """The account a row action is for, never the admin's own."""
    user = await accounts.by_id(get_db(), user_id)
    if user is None:
        abort(404)
    return user


async def _row(user: User, status: int = 200, **context: Any) -> Response:
    response = await fragment(
        "partials/person_row.html",
        status=status,
        person=await people.person(get_db(), user),
        viewer=await auth.current_user(),
        roles=list(Role),
        row_error=context.get("error"),
        row_link=context.get("link"),
    )
    return _secret(response) if context.get("link") else response


async def _done(user: User, notice: str) -> Response:
    if wants_fragment():
        return await _row(user)
    return see_other(notices.url_with_notice("people.index", notice))


async def _refused(user: User, error: str) -> Response:
    if wants_fragment():
        return await _row(user, 422, error=error)
    return await _page(422, errors={user.id: error})


def _role(value: str) -> Role | None:
    try:
        return Role(value)
    except ValueError:
        return None


async def _not_yourself(user: User) -> str | None:
    viewer = await auth.current_user()
    return YOURSELF if viewer is not None and viewer.id == user.id else None


@bp.get("/")
@auth.admin_required
async def index() -> Response:
    """Everyone with an account, and the form to add someone."""
    return await _page()


@bp.post("/")
@auth.admin_required
async def invite() -> Response:
    """A new account and the one-time link its owner chooses a password with."""
    form = await request.form
    kept = {key: form.get(key, "").strip() for key in ("email", "name", "role")}
    role = _role(kept["role"] or Role.AUTHOR.value)
    if role is None:
        return await _page(422, form=kept, errors={"new": CHOOSE_ROLE})
    try:
        user, token = await people.invite(
            get_db(), email=kept["email"], name=kept["name"], role=role
        )
    except AccountError as error:
        return await _page(422, form=kept, errors={"new": str(error)})
    link = url_for("accounts.reset_password", token=token, _external=True)
    notice = (
        f"Account made for {user.email}. Send them this link to choose a password: "
        "it works once, for two days."
    )
    return await _page(notice=notice, link=link)


@bp.post("/<int:user_id>/role")
@auth.admin_required
async def set_role(user_id: int) -> Response:
    """Make someone an admin or an author; a demotion signs them out everywhere."""
    user = await _person(user_id)
    if refused := await _not_yourself(user):
        return await _refused(user, refused)
    role = _role((await request.form).get("role", ""))
    if role is None:
        return await _refused(user, CHOOSE_ROLE)
    try:
        await people.set_role(get_db(), user, role)
    except AccountError as error:
        return await _refused(user, str(error))
    return await _done(user, f"{user.name} is now {role.value}.")


@bp.post("/<int:user_id>/disable")
@auth.admin_required
async def disable(user_id: int) -> Response:
    """Stop someone signing in, and sign them out everywhere at once."""
    user = await _person(user_id)
    if refused := await _not_yourself(user):
        return await _refused(user, refused)
    try:
        await people.disable(get_db(), user)
    except AccountError as error:
        return await _refused(user, str(error))
    return await _done(user, f"{user.name} is disabled and signed out everywhere.")


@bp.post("/<int:user_id>/enable")
@auth.admin_required
async def enable(user_id: int) -> Response:
    """Let a disabled account sign in again."""
    user = await _person(user_id)
    await people.enable(get_db(), user)
    return await _done(user, f"{user.name} may sign in again.")


@bp.post("/<int:user_id>/reset")
@auth.admin_required
async def reset(user_id: int) -> Response:
    """A one-time link to choose a new password, valid for an hour, shown once."""
    user = await _person(user_id)
    try:
        token = await people.start_reset(get_db(), user)
    except AccountError as error:
        return await _refused(user, str(error))
    link = url_for("accounts.reset_password", token=token, _external=True)
    if wants_fragment():
        return await _row(user, link=link)
    notice = f"A one-time link for {user.email}, valid for an hour. Send it to them yourself."
    return await _page(notice=notice, link=link)
