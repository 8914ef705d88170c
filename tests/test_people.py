"""People management: roles, disabling, one-time password links, in components/people.py,
on the Users page and through `quire user`."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cli.commands import main
from components import accounts, people
from components.accounts import AccountError
from components.models import AuthSession, PasswordReset, PostStatus, Role, User, utcnow
from tests.conftest import (
    TEST_PASSWORD,
    make_user,
    post_form,
    sign_in,
    statements_sent,
    write_post,
)

NEW_PASSWORD = "a fresh and long password"
LINK = re.compile(r"/reset/([A-Za-z0-9_-]{20,})")


async def reload(db: AsyncSession, user: User) -> User:
    """`user` read again; its id from the identity map, which no commit or rollback expires."""
    user_id = inspect(user).identity[0]
    query = select(User).where(User.id == user_id).execution_options(populate_existing=True)
    return (await db.scalars(query)).one()


async def sessions_of(db: AsyncSession, user: User) -> int:
    db.expire_all()
    user_id = inspect(user).identity[0]
    count = select(func.count()).select_from(AuthSession).where(AuthSession.user_id == user_id)
    return await db.scalar(count) or 0


async def text(response: Any) -> str:
    return await response.get_data(as_text=True)


# --- components/people.py -----------------------------------------------------


async def test_everyone_is_listed_in_one_statement_with_their_counts(
    db: AsyncSession, admin: User, author: User
) -> None:
    await write_post(db, title="One", body="x", author=author, status=PostStatus.PUBLISHED)
    await write_post(db, title="Two", body="x", author=author)
    await accounts.start_session(db, author, remember=False)
    await db.commit()
    for number in range(3):
        await make_user(db, f"extra{number}@example.com", f"Extra {number}")
    with statements_sent(db) as sent:
        listed = await people.everyone(db)
    assert sent.count == 1
    assert [person.user.email for person in listed][:2] == [admin.email, author.email]
    ada = next(person for person in listed if person.user.id == author.id)
    assert (ada.posts, ada.sessions) == (2, 1)
    assert len(listed) == 5


async def test_the_only_active_admin_cannot_be_demoted_or_disabled(
    db: AsyncSession, admin: User, author: User
) -> None:
    with pytest.raises(AccountError, match="only active admin"):
        await people.set_role(db, admin, Role.AUTHOR)
    with pytest.raises(AccountError, match="only active admin"):
        await people.disable(db, admin)
    await db.rollback()
    admin = await reload(db, admin)
    assert admin.role is Role.ADMIN and admin.is_active

    # A second admin who is disabled does not count either.
    second = await make_user(db, "second@example.com", "Second", Role.ADMIN)
    await people.disable(db, await reload(db, second))
    await db.commit()
    with pytest.raises(AccountError):
        await people.disable(db, await reload(db, admin))
    await db.rollback()
    second = await reload(db, second)
    await people.enable(db, second)
    assert await people.disable(db, await reload(db, admin)) is True
    await db.commit()


async def test_demoting_ends_every_session_and_promoting_keeps_them(
    db: AsyncSession, admin: User, author: User
) -> None:
    second = await make_user(db, "second@example.com", "Second", Role.ADMIN)
    await accounts.start_session(db, second, remember=True)
    await accounts.start_session(db, await reload(db, author), remember=True)
    await db.commit()
    author, second = await reload(db, author), await reload(db, second)
    assert await people.set_role(db, author, Role.ADMIN) is True
    assert await people.set_role(db, author, Role.ADMIN) is False
    assert await people.set_role(db, second, Role.AUTHOR) is True
    await db.commit()
    assert await sessions_of(db, author) == 1
    assert await sessions_of(db, second) == 0


async def test_a_disabled_account_cannot_sign_in_or_use_a_session(
    db: AsyncSession, admin: User, author: User
) -> None:
    token = await accounts.start_session(db, author, remember=True)
    await db.commit()
    author = await reload(db, author)
    assert await people.disable(db, author) is True
    assert await people.disable(db, author) is False
    await db.commit()
    assert await sessions_of(db, author) == 0
    assert await accounts.authenticate(db, "ada@example.com", TEST_PASSWORD) is None
    # Even a session row made some other way is not honoured while disabled.
    token = await accounts.start_session(db, await reload(db, author), remember=True)
    await db.commit()
    assert await accounts.find_session(db, token) is None

    assert await people.enable(db, await reload(db, author)) is True
    await db.commit()
    assert await accounts.find_session(db, token) is not None
    assert await accounts.authenticate(db, "ada@example.com", TEST_PASSWORD) is not None


async def test_a_reset_link_works_once_and_signs_out_everywhere(
    db: AsyncSession, author: User
) -> None:
    await accounts.start_session(db, author, remember=True)
    token = await people.start_reset(db, author)
    await db.commit()
    assert (await people.reset_for(db, token)).email == "ada@example.com"

    # A refused password leaves the link working and the old password in place.
    with pytest.raises(AccountError, match="at least"):
        await people.finish_reset(db, token, "short")
    await db.rollback()
    assert await people.reset_for(db, token) is not None

    user = await people.finish_reset(db, token, NEW_PASSWORD)
    await db.commit()
    assert await sessions_of(db, user) == 0
    assert await accounts.authenticate(db, "ada@example.com", NEW_PASSWORD) is not None
    assert await accounts.authenticate(db, "ada@example.com", TEST_PASSWORD) is None
    with pytest.raises(AccountError, match="expired or has been used"):
        await people.finish_reset(db, token, "another long password")
    assert await db.scalar(select(func.count()).select_from(PasswordReset)) == 0


async def test_a_reset_link_expires_after_an_hour_and_a_newer_one_replaces_it(
    db: AsyncSession, author: User
) -> None:
    first = await people.start_reset(db, author)
    second = await people.start_reset(db, author)
    assert first != second
    await db.commit()
    assert await people.reset_for(db, first) is None
    assert await people.reset_for(db, second) is not None
    row = await db.scalar(select(PasswordReset))
    assert row is not None
    assert timedelta(minutes=59) < row.expires_at - utcnow() <= timedelta(hours=1)

    await db.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.commit()
    assert await people.reset_for(db, second) is None
    with pytest.raises(AccountError):
        await people.finish_reset(db, second, NEW_PASSWORD)
    assert await people.reset_for(db, "x" * 5000) is None


async def test_disabling_voids_reset_links_and_none_are_made_for_disabled_accounts(
    db: AsyncSession, admin: User, author: User
) -> None:
    token = await people.start_reset(db, author)
    await people.disable(db, author)
    await db.commit()
    assert await people.reset_for(db, token) is None
    with pytest.raises(AccountError, match="is disabled"):
        await people.start_reset(db, await reload(db, author))


# --- the Users page -------------------------------------------------------------


async def test_only_admins_reach_the_users_page(client, admin: User, author: User) -> None:
    anonymous = await client.get("/admin/users/")
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["Location"]
    await sign_in(client, author.email)
    assert (await client.get("/admin/users/")).status_code == 403
    for action in ("disable", "enable", "reset", "role"):
        refused = await post_form(client, f"/admin/users/{admin.id}/{action}", {"role": "author"})
        assert refused.status_code == 403
    assert (await post_form(client, "/admin/users/", {"email": "x@example.com"})).status_code == 403
    assert "Users</a>" not in await text(await client.get("/admin/"))


async def test_the_users_page_lists_everyone(client, admin: User, author: User) -> None:
    await sign_in(client, admin.email)
    page = await text(await client.get("/admin/users/"))
    assert "Users</a>" in page
    assert author.email in page and admin.email in page
    assert "(you)" in page
    # No action on your own row but the password link.
    own = page[page.index(f'id="person-{admin.id}"') :]
    own = own[: own.index("</tr>")]
    assert "Disable" not in own and "Change role" not in own and "Password link" in own


async def test_disabling_on_the_page_signs_them_out_at_once(
    app, db: AsyncSession, admin: User, author: User
) -> None:
    async with app.test_app() as test_app:
        boss, writer = test_app.test_client(), test_app.test_client()
        await sign_in(boss, admin.email)
        await sign_in(writer, author.email)
        assert (await writer.get("/admin/")).status_code == 200

        done = await post_form(boss, f"/admin/users/{author.id}/disable")
        assert done.status_code == 303
        shown = await (await boss.get(done.headers["Location"])).get_data(as_text=True)
        assert "is disabled and signed out everywhere." in shown
        assert (await writer.get("/admin/")).status_code == 303
        refused = await post_form(
            writer, "/login", {"email": author.email, "password": TEST_PASSWORD}
        )
        assert refused.status_code == 422

        # With htmx, the row alone comes back.
        enabled = await post_form(
            boss,
            f"/admin/users/{author.id}/enable",
            headers={"HX-Request": "true", "HX-Request-Type": "partial"},
        )
        assert enabled.status_code == 200
        row = await text(enabled)
        assert row.lstrip().startswith(f'<tr id="person-{author.id}"')
        assert f'id="person-{author.id}"' in row and "active" in row and "<html" not in row
        await sign_in(writer, author.email)


async def test_demoting_on_the_page_signs_them_out(app, db: AsyncSession, admin: User) -> None:
    second = await make_user(db, "second@example.com", "Second", Role.ADMIN)
    async with app.test_app() as test_app:
        boss, other = test_app.test_client(), test_app.test_client()
        await sign_in(boss, admin.email)
        await sign_in(other, second.email)
        assert (await other.get("/admin/settings/")).status_code == 200
        done = await post_form(boss, f"/admin/users/{second.id}/role", {"role": "author"})
        assert done.status_code == 303
        assert (await other.get("/admin/settings/")).status_code == 303
        assert (await reload(db, second)).role is Role.AUTHOR


async def test_refusals_on_the_page_say_why_and_change_nothing(
    client, db: AsyncSession, admin: User, author: User
) -> None:
    await sign_in(client, admin.email)
    own = await post_form(client, f"/admin/users/{admin.id}/disable")
    assert own.status_code == 422
    assert "your own account" in await text(own)
    bad_role = await post_form(client, f"/admin/users/{author.id}/role", {"role": "owner"})
    assert bad_role.status_code == 422
    assert "Choose a role" in await text(bad_role)
    missing = await post_form(client, "/admin/users/999999/disable")
    assert missing.status_code == 404
    assert (await reload(db, admin)).is_active
    assert (await reload(db, author)).role is Role.AUTHOR


async def test_an_admin_adds_someone_who_sets_their_password_by_link(
    app, db: AsyncSession, admin: User
) -> None:
    async with app.test_app() as test_app:
        boss, newcomer = test_app.test_client(), test_app.test_client()
        await sign_in(boss, admin.email)
        bad = await post_form(boss, "/admin/users/", {"email": "nope", "name": "N"})
        assert bad.status_code == 422 and "is not an email address" in await text(bad)
        again = await post_form(boss, "/admin/users/", {"email": admin.email, "name": "Twin"})
        assert again.status_code == 422 and "already an account" in await text(again)

        made = await post_form(
            boss, "/admin/users/", {"email": "Lin@Example.com", "name": "Lin", "role": "author"}
        )
        assert made.status_code == 200
        assert made.headers["Cache-Control"] == "no-store"
        assert made.headers["Referrer-Policy"] == "no-referrer"
        page = await text(made)
        match = LINK.search(page)
        assert match, page
        token = match[1]

        form = await newcomer.get(f"/reset/{token}")
        assert form.status_code == 200
        assert form.headers["Cache-Control"] == "no-store"
        assert "lin@example.com" in await text(form)
        differ = await post_form(
            newcomer,
            f"/reset/{token}",
            {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD + "!"},
        )
        assert differ.status_code == 422 and "differ" in await text(differ)
        short = await post_form(
            newcomer, f"/reset/{token}", {"new_password": "short", "confirm_password": "short"}
        )
        assert short.status_code == 422 and "at least" in await text(short)
        done = await post_form(
            newcomer,
            f"/reset/{token}",
            {"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        )
        assert done.status_code == 303
        assert done.headers["Location"] == "/login?reset=1"
        assert "new password is set" in await text(await newcomer.get("/login?reset=1"))
        await sign_in(newcomer, "lin@example.com", NEW_PASSWORD)

        used = await newcomer.get(f"/reset/{token}")
        assert used.status_code == 404
        assert "expired or has been used" in await text(used)
        replay = await post_form(
            newcomer,
            f"/reset/{token}",
            {"new_password": "yet another password", "confirm_password": "yet another password"},
        )
        assert replay.status_code == 404


async def test_a_password_link_from_the_page_is_shown_once_in_the_row(
    client, db: AsyncSession, admin: User, author: User
) -> None:
    await sign_in(client, admin.email)
    row = await post_form(
        client,
        f"/admin/users/{author.id}/reset",
        headers={"HX-Request": "true", "HX-Request-Type": "partial"},
    )
    assert row.status_code == 200
    assert row.headers["Cache-Control"] == "no-store"
    body = await text(row)
    assert "<html" not in body and "valid for an hour" in body
    token = LINK.search(body)[1]
    assert (await people.reset_for(db, token)).id == author.id
    # The list itself never shows it again.
    assert token not in await text(await client.get("/admin/users/"))


# --- quire user ---------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "QUIRE_INSTANCE_PATH": str(tmp_path / "instance"),
        "QUIRE_BASE_URL": "https://blog.example",
    }
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    for email, role in (("root@example.com", "admin"), ("ada@example.com", "author")):
        made = runner.invoke(
            main,
            ["user", "create", email, "--name", email[:3], "--role", role, "--password-stdin"],
            env=env,
            input=TEST_PASSWORD + "\n",
        )
        assert made.exit_code == 0, made.output
    return env


def run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(main, ["user", *args], env=env)


def test_cli_lists_everyone(cli_env: dict[str, str]) -> None:
    listed = run(cli_env, "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split() == ["EMAIL", "NAME", "ROLE", "STATE", "POSTS", "SIGNED", "IN"]
    assert lines[1].split()[:4] == ["root@example.com", "roo", "admin", "active"]
    assert lines[2].split()[:4] == ["ada@example.com", "ada", "author", "active"]


def test_cli_changes_roles_and_states_with_the_same_rules(cli_env: dict[str, str]) -> None:
    last = run(cli_env, "set-role", "root@example.com", "author")
    assert last.exit_code == 1 and "only active admin" in last.output
    assert run(cli_env, "disable", "root@example.com").exit_code == 1
    missing = run(cli_env, "disable", "nobody@example.com")
    assert missing.exit_code == 1 and "no account for nobody@example.com" in missing.output
    bad = run(cli_env, "set-role", "ada@example.com", "owner")
    assert bad.exit_code == 2 and "owner" in bad.output

    promoted = run(cli_env, "set-role", "ADA@example.com", "admin")
    assert promoted.exit_code == 0 and "ada@example.com is now admin" in promoted.output
    assert "already admin" in run(cli_env, "set-role", "ada@example.com", "admin").output
    disabled = run(cli_env, "disable", "ada@example.com")
    assert disabled.exit_code == 0 and "signed them out everywhere" in disabled.output
    assert "already disabled" in run(cli_env, "disable", "ada@example.com").output
    assert "disabled" in run(cli_env, "list").output.splitlines()[1]
    assert "enabled ada@example.com" in run(cli_env, "enable", "ada@example.com").output
    assert "was not disabled" in run(cli_env, "enable", "ada@example.com").output


def test_cli_prints_a_one_time_link_on_the_base_url(cli_env: dict[str, str]) -> None:
    made = run(cli_env, "reset-password", "ada@example.com")
    assert made.exit_code == 0, made.output
    assert "valid for an hour" in made.output
    assert TEST_PASSWORD not in made.output
    link = re.search(r"https://blog\.example/reset/[A-Za-z0-9_-]{20,}", made.output)
    assert link, made.output

    without_base = {**cli_env, "QUIRE_BASE_URL": ""}
    bare = run(without_base, "reset-password", "ada@example.com")
    assert bare.exit_code == 0 and "no base URL is set" in bare.output
    assert re.search(r"^/reset/[A-Za-z0-9_-]{20,}$", bare.output, re.MULTILINE)
