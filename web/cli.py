"""The `quire` command: database upgrades and demo content, outside any request."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from components import demo, migrations, posts
from components.db import make_engine, make_sessionmaker
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
