"""Accounts: creating users, signing in and out, sessions, throttling, two-factor codes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pyotp
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cli.commands import main
from components import accounts, two_factor
from components.models import AuthSession, Base, LoginFailure, Post, Role, SiteState, User

from .conftest import TEST_PASSWORD, csrf_token, make_user, post_form, sign_in, write_post


def cookies_set(response) -> dict[str, str]:
    """Each Set-Cookie of a response, by name, with its attributes as written."""
    found = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        found[name] = header
    return found


async def fresh_user(db: AsyncSession, user_id: int) -> User:
    query = select(User).where(User.id == user_id).execution_options(populate_existing=True)
    return (await db.scalars(query)).one()


async def session_rows(db: AsyncSession) -> int:
    db.expire_all()
    return await db.scalar(select(func.count()).select_from(AuthSession)) or 0


# --- the command line ---------------------------------------------------------


def test_cli_creates_a_user_from_stdin_and_refuses_bad_input(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "QUIRE_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0

    made = runner.invoke(
        main,
        [
            "user",
            "create",
            "Ada@Example.com",
            "--name",
            "Ada",
            "--role",
            "admin",
            "--password-stdin",
        ],
        input="a long enough password\n",
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert "created admin ada@example.com (Ada)" in made.output

    again = runner.invoke(
        main,
        ["user", "create", "ada@example.com", "--name", "Ada", "--password-stdin"],
        input="a long enough password\n",
        env=env,
    )
    assert again.exit_code == 1
    assert "already an account for ada@example.com" in again.output

    short = runner.invoke(
        main,
        ["user", "create", "bob@example.com", "--name", "Bob", "--password-stdin"],
        input="short\n",
        env=env,
    )
    assert short.exit_code == 1
    assert "at least 10 characters" in short.output

    role = runner.invoke(
        main, ["user", "create", "c@example.com", "--name", "C", "--role", "owner"], env=env
    )
    assert role.exit_code == 2
    assert "'owner' is not one of 'admin', 'author'" in role.output


def test_cli_asks_for_the_password_twice(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "QUIRE_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade"], env=env)
    made = runner.invoke(
        main,
        ["user", "create", "eve@example.com", "--name", "Eve"],
        input="first password here\nfirst password here\n",
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert "first password here" not in made.output
    assert "created author eve@example.com" in made.output


async def test_passwords_are_stored_as_argon2_hashes(db: AsyncSession, author: User) -> None:
    assert author.password_hash.startswith("$argon2id$")
    assert TEST_PASSWORD not in author.password_hash
    assert await accounts.authenticate(db, "ADA@example.com ", TEST_PASSWORD) is not None
    assert await accounts.authenticate(db, "ada@example.com", "wrong password!") is None
    assert await accounts.authenticate(db, "nobody@example.com", TEST_PASSWORD) is None


# --- signing in and out ---------------------------------------------------------


async def test_login_page_has_a_form_with_a_csrf_field(client) -> None:
    response = await client.get("/login")
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert 'name="csrf_token"' in page
    assert 'autocomplete="current-password"' in page


async def test_sign_in_sets_a_fresh_httponly_lax_session_cookie(
    client, db: AsyncSession, author: User
) -> None:
    await csrf_token(client)
    response = await sign_in(client, "ada@example.com")
    assert response.headers["Location"] == "/admin/"
    cookie = cookies_set(response)["quire_auth"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Max-Age" not in cookie and "Expires" not in cookie  # a browser session
    assert "Secure" not in cookie  # development runs on plain http
    assert await session_rows(db) == 1

    # A second sign-in is a new session with a new token.
    second = await sign_in(client, "ada@example.com")
    assert cookies_set(second)["quire_auth"] != cookie
    assert await session_rows(db) == 2

    page = await client.get("/admin/")
    assert page.status_code == 200
    assert "private" in page.headers["Cache-Control"]


async def test_the_csrf_token_changes_at_sign_in(client, author: User) -> None:
    before = await csrf_token(client)
    await sign_in(client, "ada@example.com")
    async with client.session_transaction() as session:
        assert session["csrf"] != before


async def test_remember_me_keeps_the_cookie_for_30_days(client, author: User) -> None:
    response = await sign_in(client, "ada@example.com", remember="on")
    cookie = cookies_set(response)["quire_auth"]
    assert "Max-Age=2592000" in cookie


async def test_production_cookies_are_secure(database_url: str, tmp_path: Path) -> None:
    from web import create_app

    from .conftest import TEST_SECRET, app_config

    app = create_app(
        app_config(database_url, tmp_path / "i", QUIRE_ENV="production", SECRET_KEY=TEST_SECRET)
    )
    assert app.config["QUART_AUTH_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_SECURE"] is True


async def test_wrong_email_and_wrong_password_get_the_same_answer(client, author: User) -> None:
    wrong_password = await post_form(
        client, "/login", {"email": "ada@example.com", "password": "not the password"}
    )
    unknown = await post_form(
        client, "/login", {"email": "nobody@example.com", "password": "not the password"}
    )
    assert wrong_password.status_code == unknown.status_code == 422
    first = await wrong_password.get_data(as_text=True)
    second = await unknown.get_data(as_text=True)
    assert "The email or password is not right." in first
    assert first.replace("ada@example.com", "X") == second.replace("nobody@example.com", "X")
    assert "quire_auth" not in cookies_set(wrong_password)


async def test_a_failed_sign_in_keeps_the_email_in_the_form(client, author: User) -> None:
    response = await post_form(
        client,
        "/login",
        {"email": "ada@example.com", "password": "nope nope nope"},
        headers={"HX-Request": "true", "HX-Request-Type": "partial"},
    )
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert page.startswith('<form id="login-form"')
    assert 'value="ada@example.com"' in page


async def test_logout_ends_the_session_in_the_database(
    client, db: AsyncSession, author: User
) -> None:
    await sign_in(client, "ada@example.com")
    assert (await client.get("/admin/")).status_code == 200
    stolen = client.cookie_jar  # what an attacker who copied the cookie would hold
    token_cookie = next(c for c in stolen if c.name == "quire_auth")

    response = await post_form(client, "/logout")
    assert response.status_code == 303
    assert await session_rows(db) == 0
    assert (await client.get("/admin/")).status_code == 303

    # Replaying the old cookie does not sign anyone in.
    client.set_cookie("localhost", "quire_auth", token_cookie.value)
    replay = await client.get("/admin/")
    assert replay.status_code == 303
    assert replay.headers["Location"].startswith("/login?next=")


async def test_a_password_change_signs_out_every_other_browser(
    app, db: AsyncSession, author: User
) -> None:
    async with app.test_app() as test_app:
        laptop, phone = test_app.test_client(), test_app.test_client()
        await sign_in(laptop, "ada@example.com")
        await sign_in(phone, "ada@example.com")
        assert await session_rows(db) == 2

        changed = await post_form(
            laptop,
            "/account/password",
            {
                "current_password": TEST_PASSWORD,
                "new_password": "a brand new password",
                "confirm_password": "a brand new password",
            },
        )
        assert changed.status_code == 200, await changed.get_data(as_text=True)
        assert await session_rows(db) == 1
        assert (await laptop.get("/admin/")).status_code == 200
        assert (await phone.get("/admin/")).status_code == 303

    db.expire_all()
    assert await accounts.authenticate(db, "ada@example.com", "a brand new password")


async def test_a_wrong_current_password_changes_nothing(
    client, db: AsyncSession, author: User
) -> None:
    await sign_in(client, "ada@example.com")
    refused = await post_form(
        client,
        "/account/password",
        {
            "current_password": "not my password",
            "new_password": "a brand new password",
            "confirm_password": "a brand new password",
        },
    )
    assert refused.status_code == 422
    assert "current password is not right" in await refused.get_data(as_text=True)
    db.expire_all()
    assert await accounts.authenticate(db, "ada@example.com", TEST_PASSWORD)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/admin/posts/new", "/admin/posts/new"),
        ("/account?tab=1", "/account?tab=1"),
        ("https://evil.example/", "/admin/"),
        ("//evil.example/", "/admin/"),
        ("/\\evil.example", "/admin/"),
        ("javascript:alert(1)", "/admin/"),
        ("", "/admin/"),
    ],
)
async def test_next_only_ever_leads_to_this_site(
    client, author: User, target: str, expected: str
) -> None:
    response = await post_form(
        client,
        f"/login?next={target}" if target else "/login",
        {"email": "ada@example.com", "password": TEST_PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == expected


async def test_pages_behind_sign_in_send_you_to_it_and_back(client, author: User) -> None:
    response = await client.get("/admin/posts/new")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/admin/posts/new"
    htmx = await client.get("/account", headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    assert htmx.headers["HX-Location"].startswith("/login?next=")


async def everything_stored(db: AsyncSession) -> dict[str, Any]:
    """Each table's rows, the posts as written, and the content clock: what any write moves."""
    db.expire_all()
    counts = {
        table.name: await db.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }
    posts = (await db.execute(select(Post.id, Post.title, Post.body, Post.status))).all()
    return {"rows": counts, "posts": posts, "clock": await db.scalar(select(SiteState.version))}


async def test_actions_without_a_session_are_refused_with_401(
    client, db: AsyncSession, author: User
) -> None:
    draft = (await write_post(db, title="Kept as it was", body="Untouched.", author=author)).id
    await db.commit()
    before = await everything_stored(db)
    actions = {
        "/admin/posts/save": {"title": "x", "body": "y", "action": "publish"},
        "/admin/posts/autosave": {"title": "x", "body": "y"},
        f"/admin/posts/{draft}/publish": {},
        f"/admin/posts/{draft}/delete": {},
    }
    for url, data in actions.items():
        response = await post_form(client, url, data)
        assert response.status_code == 401, url
    assert await everything_stored(db) == before


# --- throttling -----------------------------------------------------------------


async def test_too_many_failures_for_an_account_get_429_with_retry_after(
    client, db: AsyncSession, author: User
) -> None:
    for _ in range(5):
        failed = await post_form(
            client, "/login", {"email": "ada@example.com", "password": "guess guess guess"}
        )
        assert failed.status_code == 422
    limited = await post_form(
        client, "/login", {"email": "ada@example.com", "password": TEST_PASSWORD}
    )
    assert limited.status_code == 429
    assert 800 < int(limited.headers["Retry-After"]) <= 900
    assert "Too many failed attempts" in await limited.get_data(as_text=True)
    assert "quire_auth" not in cookies_set(limited)
    # Failures survive the error responses that reported them.
    assert await db.scalar(select(func.count()).select_from(LoginFailure)) == 5


async def test_too_many_failures_from_one_address_get_429(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    from web import create_app

    from .conftest import app_config

    await make_user(db, "ada@example.com", "Ada")
    app = create_app(app_config(database_url, tmp_path / "i", QUIRE_LOGIN_ATTEMPTS_PER_IP="3"))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for number in range(3):
            failed = await post_form(
                client, "/login", {"email": f"u{number}@example.com", "password": "0123456789"}
            )
            assert failed.status_code == 422
        limited = await post_form(
            client, "/login", {"email": "ada@example.com", "password": TEST_PASSWORD}
        )
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) > 0


async def test_parallel_guesses_cannot_outrun_the_limit(
    client, db: AsyncSession, author: User, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twenty guesses in flight at once: only as many as the limit reach the password check."""
    checked = 0
    authenticate = accounts.authenticate

    async def counting(*args, **kwargs):
        nonlocal checked
        checked += 1
        return await authenticate(*args, **kwargs)

    monkeypatch.setattr(accounts, "authenticate", counting)
    form = {"csrf_token": await csrf_token(client), "email": "ada@example.com"}
    answers = await asyncio.gather(
        *(client.post("/login", form={**form, "password": f"guess {n:04}"}) for n in range(20))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {422, 429}
    # Every guess checked was answered 422, and only those.
    assert checked == statuses.count(422) <= 5, statuses
    if backend == "sqlite":
        # A worker's writers take their turns on SQLite: none is in flight with another, so
        # exactly the limit's worth are checked. On PostgreSQL guesses that count each
        # other before any is checked may all be refused: the rest of the test holds the
        # total to five all the same.
        assert statuses == [422] * 5 + [429] * 15
    db.expire_all()
    assert await db.scalar(select(func.count()).select_from(LoginFailure)) == statuses.count(422)
    # Refused guesses did not count: the account has exactly the rest of its five left.
    for _ in range(5 - statuses.count(422)):
        wrong = await post_form(client, "/login", {"email": "ada@example.com", "password": "no"})
        assert wrong.status_code == 422
    right = await post_form(
        client, "/login", {"email": "ada@example.com", "password": TEST_PASSWORD}
    )
    assert right.status_code == 429


async def test_a_successful_sign_in_clears_the_account_failures(
    client, db: AsyncSession, author: User
) -> None:
    for _ in range(4):
        await post_form(client, "/login", {"email": "ada@example.com", "password": "nope nope no"})
    await sign_in(client, "ada@example.com")
    db.expire_all()
    remaining = await db.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.email == "ada@example.com")
    )
    assert remaining == 0


# --- two-factor authentication ----------------------------------------------------


async def test_enrolling_shows_an_inline_svg_qr_code_and_recovery_codes(
    client, db: AsyncSession, author: User
) -> None:
    await sign_in(client, "ada@example.com")
    started = await post_form(client, "/account/two-factor/start")
    page = await started.get_data(as_text=True)
    assert started.status_code == 200
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert "style=" not in page.split("<svg", 1)[1].split("</svg>", 1)[0]
    secret = page.split('<code class="secret">', 1)[1].split("</code>", 1)[0]
    async with client.session_transaction() as session:
        # The cookie is signed, not sealed: it holds a nonce, never the secret itself.
        assert secret not in str(dict(session))

    wrong = await post_form(client, "/account/two-factor/confirm", {"code": "000000"})
    assert wrong.status_code == 422
    assert (await fresh_user(db, author.id)).totp_secret is None

    confirmed = await post_form(
        client, "/account/two-factor/confirm", {"code": pyotp.TOTP(secret).now()}
    )
    page = await confirmed.get_data(as_text=True)
    assert confirmed.status_code == 200
    assert page.count("<li><code>") == two_factor.RECOVERY_CODES
    assert (await fresh_user(db, author.id)).totp_secret == secret


async def _with_two_factor(db: AsyncSession, user: User) -> tuple[str, list[str]]:
    secret = two_factor.new_secret()
    stored = await db.get(User, user.id)
    codes = await two_factor.enable(db, stored, secret)
    await db.commit()
    return secret, codes


async def test_sign_in_with_two_factor_asks_for_a_code(
    client, db: AsyncSession, author: User
) -> None:
    secret, _ = await _with_two_factor(db, author)
    first = await post_form(
        client, "/login?next=/account", {"email": "ada@example.com", "password": TEST_PASSWORD}
    )
    assert first.status_code == 303
    assert first.headers["Location"] == "/login/two-factor?next=/account"
    assert "quire_auth" not in cookies_set(first)
    assert (await client.get("/admin/")).status_code == 303  # not signed in yet

    wrong = await post_form(client, "/login/two-factor?next=/account", {"code": "123456"})
    assert wrong.status_code == 422
    code = pyotp.TOTP(secret).now()
    done = await post_form(client, "/login/two-factor?next=/account", {"code": code})
    assert done.status_code == 303
    assert done.headers["Location"] == "/account"
    assert (await client.get("/admin/")).status_code == 200

    # The same code cannot be used twice.
    await post_form(client, "/logout")
    await sign_in(client, "ada@example.com")
    replay = await post_form(client, "/login/two-factor", {"code": code})
    assert replay.status_code == 422


async def test_a_recovery_code_works_once(client, db: AsyncSession, author: User) -> None:
    _, codes = await _with_two_factor(db, author)
    await sign_in(client, "ada@example.com")
    assert (await post_form(client, "/login/two-factor", {"code": codes[0]})).status_code == 303
    await post_form(client, "/logout")
    await sign_in(client, "ada@example.com")
    again = await post_form(client, "/login/two-factor", {"code": codes[0]})
    assert again.status_code == 422
    assert (await post_form(client, "/login/two-factor", {"code": codes[1]})).status_code == 303


async def test_the_code_step_is_unreachable_without_the_password(
    client, db: AsyncSession, author: User
) -> None:
    secret, _ = await _with_two_factor(db, author)
    response = await post_form(client, "/login/two-factor", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login")
    assert (await client.get("/admin/")).status_code == 303


async def test_parallel_code_guesses_cannot_outrun_the_limit(
    client, db: AsyncSession, author: User
) -> None:
    await _with_two_factor(db, author)
    await post_form(client, "/login", {"email": "ada@example.com", "password": TEST_PASSWORD})
    form = {"csrf_token": await csrf_token(client)}
    answers = await asyncio.gather(
        *(client.post("/login/two-factor", form={**form, "code": f"{n:06}"}) for n in range(20))
    )
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {422, 429}
    assert statuses.count(422) <= 5, statuses


async def test_turning_two_factor_off_takes_the_password(
    client, db: AsyncSession, author: User
) -> None:
    secret, _ = await _with_two_factor(db, author)
    await sign_in(client, "ada@example.com")
    await post_form(client, "/login/two-factor", {"code": pyotp.TOTP(secret).now()})
    refused = await post_form(client, "/account/two-factor/disable", {"password": "wrong one!"})
    assert refused.status_code == 422
    done = await post_form(client, "/account/two-factor/disable", {"password": TEST_PASSWORD})
    assert done.status_code == 200
    assert (await fresh_user(db, author.id)).totp_secret is None


async def test_time_zone_is_checked(client, db: AsyncSession, author: User) -> None:
    await sign_in(client, "ada@example.com")
    bad = await post_form(client, "/account/time-zone", {"time_zone": "Mars/Olympus"})
    assert bad.status_code == 422
    good = await post_form(client, "/account/time-zone", {"time_zone": "Europe/Paris"})
    assert good.status_code == 200
    assert (await fresh_user(db, author.id)).time_zone == "Europe/Paris"


async def test_roles_are_admin_and_author(db: AsyncSession) -> None:
    boss = await make_user(db, "boss@example.com", "Boss", Role.ADMIN)
    writer = await make_user(db, "w@example.com", "Writer")
    assert boss.is_admin and not writer.is_admin


async def test_expired_sessions_are_refused_and_forgotten_at_the_next_sign_in(
    client, db: AsyncSession, author: User
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from components.models import utcnow

    await sign_in(client, "ada@example.com")
    await db.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    response = await client.get("/admin/")
    assert response.status_code == 303  # the cookie is still there, the session is not
    await sign_in(client, "ada@example.com")
    assert await session_rows(db) == 1


async def test_the_footer_offers_sign_in_to_readers_and_the_desk_to_a_writer(
    client, author: User
) -> None:
    reader = await (await client.get("/")).get_data(as_text=True)
    assert "Writers sign in" in reader and "Signed in as" not in reader
    await sign_in(client, "ada@example.com")
    writer = await (await client.get("/")).get_data(as_text=True)
    assert "Writers sign in" not in writer
    assert 'Signed in as Ada Author: <a href="/admin/">your posts</a>' in writer
