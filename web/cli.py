"""The `quire` command: database upgrades and demo content, outside any request."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from components import accounts, comments, demo, migrations, posts
from components.accounts import AccountError
from components.db import make_engine, make_sessionmaker
from components.models import Role
from web.config import ConfigError, load_config


def _settings() -> dict[str, Any]:
    try:
        settings = load_config(os.environ)
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error}") from None
    settings["INSTANCE_PATH"].mkdir(parents=True, exist_ok=True)
    return settings


def _with_engine(work: Callable[[AsyncEngine], Awaitable[str]]) -> None:
    """Run `work` against the configured database and print what it reports."""
    url = _settings()["DATABASE_URL"]

    async def run() -> str:
        engine = make_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    click.echo(asyncio.run(run()))


@click.group()
def main() -> None:
    """Quire, a blog engine for technical writing."""


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations the database does not have yet."""

    async def work(engine: AsyncEngine) -> str:
        todo = await migrations.pending(engine)
        if not todo:
            return "database is up to date"
        await migrations.upgrade(engine)
        return f"applied {len(todo)} migration(s): {', '.join(todo)}"

    _with_engine(work)


@main.command("demo")
def load_demo() -> None:
    """Load the sample posts into an empty blog (a blog with posts is left alone)."""

    async def work(engine: AsyncEngine) -> str:
        if await migrations.pending(engine):
            raise click.ClickException("the database is not up to date: run `quire db upgrade`")
        async with make_sessionmaker(engine)() as session:
            existing = await posts.count(session)
            if existing:
                return f"demo content not loaded: the blog already has {existing} post(s)"
            added = await demo.load(session)
            await session.commit()
        return f"loaded {added} demo posts"

    _with_engine(work)


@main.group()
def user() -> None:
    """Manage the people who write here."""


@user.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The name shown on the author's posts.")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.AUTHOR.value,
    show_default=True,
    help="admin: everything; author: their own posts and media.",
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking.",
)
def user_create(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Create an account for EMAIL; the password is asked for twice, never shown."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        accounts.check_password_rules(password)
    except AccountError as error:
        raise click.ClickException(str(error)) from None

    async def work(engine: AsyncEngine) -> str:
        if await migrations.pending(engine):
            raise click.ClickException("the database is not up to date: run `quire db upgrade`")
        async with make_sessionmaker(engine)() as session:
            try:
                created = await accounts.create_user(
                    session, email=email, name=name, password=password, role=Role(role)
                )
            except AccountError as error:
                raise click.ClickException(str(error)) from None
            await session.commit()
            return f"created {created.role.value} {created.email} ({created.name})"

    _with_engine(work)


_DURATION_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def _duration(_ctx: click.Context, _param: click.Parameter, value: str) -> timedelta:
    """`30d`, `12h`, `2w` or `90m` as a length of time."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([mhdw])\s*", value)
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration like 30d, 12h, 2w or 90m")
    return timedelta(**{_DURATION_UNITS[match[2]]: int(match[1])})


@main.group("comments")
def comments_group() -> None:
    """Look after readers' comments."""


@comments_group.command("purge-spam")
@click.option(
    "--older-than",
    "older_than",
    default="30d",
    show_default=True,
    callback=_duration,
    help="Only spam received longer ago than this (30d, 12h, 2w, 90m).",
)
def purge_spam(older_than: timedelta) -> None:
    """Delete comments marked as spam (and replies to them) for good."""

    async def work(engine: AsyncEngine) -> str:
        if await migrations.pending(engine):
            raise click.ClickException("the database is not up to date: run `quire db upgrade`")
        async with make_sessionmaker(engine)() as session:
            purged = await comments.purge_spam(session, older_than)
            await session.commit()
        return f"deleted {purged} spam comment(s) older than {older_than}"

    _with_engine(work)
