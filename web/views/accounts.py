"""Signing in and out, the account page (password, time zone, two-factor codes), and the
page a one-time link sets a new password on.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

import time
from typing import Any

from quart import Blueprint, Response, abort, current_app, request, session, url_for

from components import accounts, people, throttle, two_factor
from components.accounts import AccountError
from components.models import User
from web import auth, csrf, site
from web.database import get_db
from web.responses import render, see_other

bp = Blueprint("accounts", __name__)

WRONG_CREDENTIALS = "The email or password is not right."
WRONG_CODE = "That code is not right. Try the newest code from your app, or a recovery code."
# Between the password and the code: how long the half-finished sign-in waits.
PENDING_FOR_SECONDS = 300
_PENDING = "pending_2fa"
_ENROL = "totp_enrol"


def _limits() -> throttle.Limits:
    return current_app.config["LOGIN_LIMITS"]


def _next() -> str:
    return auth.safe_next(request.args.get("next"), url_for("admin.posts"))


async def _attempt(email: str) -> int:
    """Record this attempt, committed before anything is checked, so parallel ones count it."""
    db = get_db()
    attempt = await throttle.record_attempt(db, ip=auth.client_ip(), email=email, limits=_limits())
    await db.commit()
    return attempt


async def _too_many(
    attempt: int, email: str, template: str, fragment: str, **context: Any
) -> Response | None:
    """The form again with 429 and Retry-After, while this address or account must wait."""
    db = get_db()
    wait = await throttle.retry_after(db, ip=auth.client_ip(), email=email, limits=_limits())
    if not wait:
        return None
    # A refused attempt checked nothing: it must not lengthen the wait.
    await throttle.forget_attempt(db, attempt)
    await db.commit()  # an error answer otherwise rolls the request back
    minutes = max(1, round(wait / 60))
    response = await render(
        template,
        fragment,
        status=429,
        errors={"form": f"Too many failed attempts. Try again in about {minutes} minute(s)."},
        next=request.args.get("next"),
        **context,
    )
    response.headers["Retry-After"] = str(wait)
    return response


async def _finish_sign_in(user: User, remember: bool) -> Response:
    await auth.sign_in(user, remember=remember)
    await throttle.clear_account(get_db(), user.email)
    session.pop(_PENDING, None)
    csrf.rotate()
    return see_other(_next(), reload=True)


@bp.get("/login")
async def login() -> Response:
    """The sign-in form (someone already signed in goes straight on)."""
    if await auth.current_user() is not None:
        return see_other(_next())
    notice = "Your new password is set. Sign in with it." if request.args.get("reset") else None
    return await render(
        "login.html",
        "partials/login_form.html",
        form={},
        errors={},
        notice=notice,
        next=request.args.get("next"),
    )


@bp.post("/login")
async def login_post() -> Response:
    """Check the password; the answer is the same for an unknown email and a wrong password."""
    form = await request.form
    email = form.get("email", "").strip()
    kept = {"email": email, "remember": form.get("remember") == "on"}
    attempt = await _attempt(email)
    if limited := await _too_many(
        attempt, email, "login.html", "partials/login_form.html", form=kept
    ):
        return limited
    user = await accounts.authenticate(get_db(), email, form.get("password", ""))
    if user is None:
        # The attempt, already committed, stays as the failure.
        return await render(
            "login.html",
            "partials/login_form.html",
            status=422,
            form=kept,
            errors={"form": WRONG_CREDENTIALS},
            next=request.args.get("next"),
        )
    await throttle.forget_attempt(get_db(), attempt)
    if user.totp_secret:
        session[_PENDING] = {"user": user.id, "remember": kept["remember"], "at": time.time()}
        return see_other(url_for("accounts.code_form", next=request.args.get("next")))
    return await _finish_sign_in(user, kept["remember"])


async def _pending_user() -> tuple[User, bool] | None:
    pending = session.get(_PENDING)
    if not pending or time.time() - pending.get("at", 0) > PENDING_FOR_SECONDS:
        return None
    user = await accounts.by_id(get_db(), pending["user"])
    return (user, bool(pending.get("remember"))) if user and user.totp_secret else None


@bp.get("/login/two-factor")
async def code_form() -> Response:
    """Second step of signing in, for accounts with an authenticator app."""
    if await _pending_user() is None:
        return see_other(url_for("accounts.login", next=request.args.get("next")))
    return await render(
        "two_factor.html",
        "partials/two_factor_form.html",
        form={},
        errors={},
        next=request.args.get("next"),
    )


@bp.post("/login/two-factor")
async def code_post() -> Response:
    pending = await _pending_user()
    if pending is None:
        return see_other(url_for("accounts.login", next=request.args.get("next")))
    user, remember = pending
    code = (await request.form).get("code", "")
    attempt = await _attempt(user.email)
    if limited := await _too_many(
        attempt, user.email, "two_factor.html", "partials/two_factor_form.html", form={}
    ):
        return limited
    db = get_db()
    if two_factor.verify(user, code) or await two_factor.use_recovery_code(db, user, code):
        return await _finish_sign_in(user, remember)  # clearing the account forgets the attempt
    return await render(
        "two_factor.html",
        "partials/two_factor_form.html",
        status=422,
        form={},
        errors={"code": WRONG_CODE},
        next=request.args.get("next"),
    )


@bp.post("/logout")
async def logout() -> Response:
    """Sign out this browser: its session ends in the database, not only in the cookie."""
    await auth.sign_out()
    session.clear()
    return see_other(url_for("blog.home"), reload=True)


# --- a new password from a one-time link ------------------------------------


async def _reset_page(token: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("errors", {})
    response = await render(
        "reset_password.html",
        "partials/reset_form.html",
        status=status,
        token=token,
        **context,
    )
    # The token is in this page's address: kept nowhere, and sent to no other site.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/reset/<token>")
async def reset_password(token: str) -> Response:
    """The form for a new password, while the link still works."""
    user = await people.reset_for(get_db(), token)
    if user is None:
        return await _reset_page(token, 404, user=None, errors={"form": people.EXPIRED})
    return await _reset_page(token, user=user)


@bp.post("/reset/<token>")
async def reset_password_post(token: str) -> Response:
    """Set the password, use the link up, sign out everywhere, then go to sign in."""
    form = await request.form
    user = await people.reset_for(get_db(), token)
    if user is None:
        return await _reset_page(token, 404, user=None, errors={"form": people.EXPIRED})
    if form.get("new_password", "") != form.get("confirm_password", ""):
        errors = {"password": "The two passwords differ."}
        return await _reset_page(token, 422, user=user, errors=errors)
    try:
        await people.finish_reset(get_db(), token, form.get("new_password", ""))
    except AccountError as error:
        return await _reset_page(token, 422, user=user, errors={"password": str(error)})
    await auth.sign_out()
    return see_other(url_for("accounts.login", reset=1), reload=True)


# --- the account page ---------------------------------------------------------


async def _account_page(status: int = 200, **context: Any) -> Response:
    user = await auth.current_user()
    assert user is not None
    context.setdefault("errors", {})
    context.setdefault("notice", None)
    context.setdefault("recovery_codes", None)
    context.setdefault("enrol", None)
    return await render(
        "account.html",
        "partials/account.html",
        status=status,
        user=user,
        time_zones=accounts.time_zones(),
        other_sessions=await accounts.sessions_of(get_db(), user) - 1,
        **context,
    )


@bp.get("/account")
@auth.login_required
async def account() -> Response:
    """Password, time zone, two-factor authentication and other browsers."""
    return await _account_page()


@bp.post("/account/password")
@auth.login_required
async def change_password() -> Response:
    """A new password signs every other browser out."""
    form = await request.form
    found = await auth.signed_in()
    assert found is not None
    if form.get("new_password", "") != form.get("confirm_password", ""):
        return await _account_page(422, errors={"password": "The two new passwords differ."})
    try:
        await accounts.change_password(
            get_db(),
            found.user,
            current=form.get("current_password", ""),
            new=form.get("new_password", ""),
            keep_session_id=found.session_id,
        )
    except AccountError as error:
        return await _account_page(422, errors={"password": str(error)})
    return await _account_page(notice="Password changed. Every other browser is signed out.")


@bp.post("/account/time-zone")
@auth.login_required
async def change_time_zone() -> Response:
    user = await auth.current_user()
    assert user is not None
    try:
        user.time_zone = accounts.check_time_zone((await request.form).get("time_zone", ""))
    except AccountError as error:
        return await _account_page(422, errors={"time_zone": str(error)})
    return await _account_page(notice=f"Dates are now shown in {user.time_zone}.")


@bp.post("/account/sessions/end-others")
@auth.login_required
async def end_other_sessions() -> Response:
    found = await auth.signed_in()
    assert found is not None
    ended = await accounts.end_other_sessions(get_db(), found.user, found.session_id)
    return await _account_page(notice=f"Signed out {ended} other browser(s).")


@bp.post("/account/two-factor/start")
@auth.login_required
async def start_two_factor() -> Response:
    """Show a new secret as a QR code; it is kept only once a code from it is confirmed."""
    user = await auth.current_user()
    assert user is not None
    session[_ENROL] = nonce = two_factor.new_enrolment()
    return await _account_page(enrol=_enrolment(user, _enrolment_secret(user, nonce)))


def _enrolment_secret(user: User, nonce: str) -> str:
    return two_factor.enrolment_secret(current_app.config["SECRET_KEY"], user.id, nonce)


def _enrolment(user: User, secret: str) -> dict[str, str]:
    uri = two_factor.provisioning_uri(secret, email=user.email, issuer=site.current().title)
    return {"secret": secret, "qr": two_factor.qr_svg(uri)}


@bp.post("/account/two-factor/confirm")
@auth.login_required
async def confirm_two_factor() -> Response:
    user = await auth.current_user()
    assert user is not None
    nonce = session.get(_ENROL)
    if not isinstance(nonce, str) or not nonce:
        return await _account_page(409, errors={"two_factor": "Start again: no set-up is open."})
    secret = _enrolment_secret(user, nonce)
    if not two_factor.check_code(secret, (await request.form).get("code", "")):
        return await _account_page(
            422,
            enrol=_enrolment(user, secret),
            errors={"two_factor": "That code does not match. Check the phone's clock."},
        )
    codes = await two_factor.enable(get_db(), user, secret)
    session.pop(_ENROL, None)
    return await _account_page(
        recovery_codes=codes, notice="Two-factor authentication is on. Keep these codes safe."
    )


@bp.post("/account/two-factor/disable")
@auth.login_required
async def disable_two_factor() -> Response:
    """Turning it off takes the password, so a borrowed unlocked browser cannot."""
    user = await auth.current_user()
    assert user is not None
    if not user.totp_secret:
        abort(409)
    if not await accounts.check_password(user, (await request.form).get("password", "")):
        return await _account_page(422, errors={"two_factor": "The password is not right."})
    await two_factor.disable(get_db(), user)
    return await _account_page(notice="Two-factor authentication is off.")


@bp.post("/account/two-factor/recovery-codes")
@auth.login_required
async def new_recovery_codes() -> Response:
    """New codes take the password too: with them, a borrowed unlocked browser could
    sign in as its owner anywhere."""
    user = await auth.current_user()
    assert user is not None
    if not user.totp_secret:
        abort(409)
    if not await accounts.check_password(user, (await request.form).get("password", "")):
        return await _account_page(422, errors={"two_factor": "The password is not right."})
    codes = await two_factor.new_recovery_codes(get_db(), user)
    return await _account_page(
        recovery_codes=codes, notice="New recovery codes; the old ones no longer work."
    )
