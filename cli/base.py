"""What every `quire` command that touches the database needs: the settings, an engine for
one command's work, and the check that the schema is up to date."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from components import migrations
from components.db import make_engine
from components.settings import ConfigError, load_config


def settings() -> dict[str, Any]:
    try:
        loaded = load_config(os.environ)
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error}") from None
    loaded["INSTANCE_PATH"].mkdir(parents=True, exist_ok=True)
    return loaded


def with_engine(work: Callable[[AsyncEngine], Awaitable[str]]) -> None:
    """Run `work` against the configured database and print what it reports."""
    url = settings()["DATABASE_URL"]

    async def run() -> str:
        engine = make_engine(url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    click.echo(asyncio.run(run()))


async def up_to_date(engine: AsyncEngine) -> None:
    if await migrations.pending(engine):
        raise click.ClickException("the database is not up to date: run `quire db upgrade`")
