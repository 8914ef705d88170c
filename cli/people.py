"""`quire user`: accounts from the command line, with the same rules as the Users page."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

import click
from quart import url_for
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cli import base
from components import accounts, people, site
from components.accounts import AccountError
from components.db import make_sessionmaker
from components.models import Role
from web import create_app

ROLES = click.Choice([role.value for role in Role])
ROLE_HELP = "admin: everything; author: their own posts and media."


def _change(work: Callable[[AsyncSession], Awaitable[str]]) -> None:
    """Run `work` in one transaction; an AccountError becomes the command's error."""

    async def run(engine: AsyncEngine) -> str:
        await base.up_to_date(engine)
        async with make_sessionmaker(engine)() as session:
            try:
                said = await work(session)
            except AccountError as error:
                raise click.ClickException(str(error)) from None
            await session.commit()
            return said

    base.with_engine(run)


async def _reset_link(session: AsyncSession, token: str, settings: dict[str, Any]) -> str:
    """The reset page's address on the site's base URL (the setting, else the environment)."""
    app = create_app()
    async with app.test_request_context("/"):
        path = url_for("accounts.reset_password", token=token)
    current = await site.load(session, settings["SITE_FIXED"])
    if not current.base_url:
        return (
            f"{path}\n(no base URL is set, so this is only the path: open it on your site's "
            "address, or set one in /admin/settings or QUIRE_BASE_URL)"
        )
    return current.base_url + path


@click.group()
def user() -> None:
    """Manage the people who write here."""


@user.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The name shown on the author's posts.")
@click.option("--role", type=ROLES, default=Role.AUTHOR.value, show_default=True, help=ROLE_HELP)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking.",
)
def create(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Create an account for EMAIL; the password is asked for twice, never shown."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        accounts.check_password_rules(password)
    except AccountError as error:
        raise click.ClickException(str(error)) from None

    async def work(session: AsyncSession) -> str:
        created = await accounts.create_user(
            session, email=email, name=name, password=password, role=Role(role)
        )
        return f"created {created.role.value} {created.email} ({created.name})"

    _change(work)


@user.command("list")
def list_people() -> None:
    """List every account: email, role, state, posts and signed-in browsers."""

    async def work(session: AsyncSession) -> str:
        everyone = await people.everyone(session)
        if not everyone:
            return "no accounts yet: create one with `quire user create EMAIL --name NAME`"
        rows = [("EMAIL", "NAME", "ROLE", "STATE", "POSTS", "SIGNED IN")]
        for person in everyone:
            state = "active" if person.user.is_active else "disabled"
            rows.append(
                (
                    person.user.email,
                    person.user.name,
                    person.user.role.value,
                    state,
                    str(person.posts),
                    str(person.sessions),
                )
            )
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in rows
        )

    _change(work)


@user.command("set-role")
@click.argument("email")
@click.argument("role", type=ROLES)
def set_role(email: str, role: str) -> None:
    """Make EMAIL an admin or an author. A demotion signs them out everywhere; the
    only active admin cannot be demoted."""

    async def work(session: AsyncSession) -> str:
        found = await people.find(session, email)
        if not await people.set_role(session, found, Role(role)):
            return f"{found.email} is already {role}"
        ended = " and signed out everywhere" if role != Role.ADMIN.value else ""
        return f"{found.email} is now {role}{ended}"

    _change(work)


@user.command("disable")
@click.argument("email")
def disable(email: str) -> None:
    """Stop EMAIL signing in and sign them out everywhere; their posts stay published."""

    async def work(session: AsyncSession) -> str:
        found = await people.find(session, email)
        if not await people.disable(session, found):
            return f"{found.email} was already disabled"
        return f"disabled {found.email} and signed them out everywhere"

    _change(work)


@user.command("enable")
@click.argument("email")
def enable(email: str) -> None:
    """Let a disabled EMAIL sign in again with the password they had."""

    async def work(session: AsyncSession) -> str:
        found = await people.find(session, email)
        if not await people.enable(session, found):
            return f"{found.email} was not disabled"
        return f"enabled {found.email}"

    _change(work)


@user.command("reset-password")
@click.argument("email")
def reset_password(email: str) -> None:
    """Print a one-time link for EMAIL to choose a new password (it works for an hour).

    The password itself is never shown or asked for. Using the link signs the account
    out everywhere; a newer link replaces an older one.
    """
    settings = base.settings()

    async def work(session: AsyncSession) -> str:
        found = await people.find(session, email)
        token = await people.start_reset(session, found)
        link = await _reset_link(session, token, settings)
        return f"a one-time link for {found.email}, valid for an hour:\n{link}"

    _change(work)
