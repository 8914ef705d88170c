"""`quire check`: what stands between these settings and a safe, working deployment.

Each check reads the settings (and, where it must, the database) and says what is
wrong in one line that names the setting and what to do. Errors would lose data, leak
sessions or stop the site; warnings are choices worth a second look.
"""

from __future__ import annotations

import asyncio
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from components import migrations, site
from components.comments.intake import Moderation
from components.db import is_sqlite, make_engine, make_sessionmaker
from components.diagrams import runner
from components.settings import (
    CLOCK_CONNECTIONS,
    PROJECT_ROOT,
    ConfigError,
    load_config,
    weak_secret,
)
from web.assets import REQUIRED

# libpq modes that do not insist on an encrypted connection.
UNENCRYPTED_SSL_MODES = {None, "disable", "allow", "prefer"}
# Connections left for a console, the release phase and the database's own maintenance.
SPARE_CONNECTIONS = 3


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    level: Level
    setting: str
    message: str

    def __str__(self) -> str:
        return f"{self.level.value:<8} {self.setting}: {self.message}"


async def problems(environ: Mapping[str, str], *, deploy: bool) -> list[Problem]:
    """Everything wrong with `environ`'s settings, errors first. Without `deploy`, only
    what stops Quire from running at all (settings, assets, the database)."""
    key = environ.get("SECRET_KEY", "")
    weak = weak_secret(key) if key else None
    try:
        # A weak key stops a production server; here it is named below, beside the rest.
        settings = load_config(
            {**environ, "SECRET_KEY": secrets.token_urlsafe(48)} if weak else environ
        )
    except ConfigError as error:
        setting, _, message = str(error).partition(": ")
        return [Problem(Level.ERROR, setting, message)]
    found = _assets() + await _database(settings, deploy=deploy)
    if deploy:
        found = _deployment(settings, environ) + found
    if weak and (deploy or settings["QUIRE_ENV"] == "production"):
        message = f"{weak}: make a random one of 48 characters or more"
        found.insert(0, Problem(Level.ERROR, "SECRET_KEY", message))
    return sorted(found, key=lambda problem: problem.level != Level.ERROR)


def _assets() -> list[Problem]:
    found = [
        Problem(Level.ERROR, f"static/{name}", "missing: run `npm ci` (htmx comes from npm)")
        for name in REQUIRED
        if not (PROJECT_ROOT / "static" / name).is_file()
    ]
    if (missing := runner.renderer_missing()) is not None:
        # Posts still save; their diagrams show as code until this is put right.
        found.append(Problem(Level.WARNING, "diagrams", f"{missing}: diagrams show as code"))
    return found


def _deployment(settings: dict[str, Any], environ: Mapping[str, str]) -> list[Problem]:
    found: list[Problem] = []

    def error(setting: str, message: str) -> None:
        found.append(Problem(Level.ERROR, setting, message))

    def warning(setting: str, message: str) -> None:
        found.append(Problem(Level.WARNING, setting, message))

    if settings["QUIRE_ENV"] != "production":
        error(
            "QUIRE_ENV",
            "set it to production: until then cookies are sent without Secure, there is "
            "no HSTS, and a missing SECRET_KEY is made up on each machine",
        )
    if not environ.get("SECRET_KEY"):
        error(
            "SECRET_KEY",
            "not set: every instance must sign with the same secret, or sign-ins break "
            "when a request lands on another one",
        )
    url = make_url(settings["DATABASE_URL"])
    if is_sqlite(settings["DATABASE_URL"]):
        warning(
            "DATABASE_URL",
            "SQLite: right for a single machine with a lasting disk, wrong on a PaaS, whose "
            "file system is thrown away on each deploy and not shared between instances",
        )
    elif not _is_local(url.host) and url.query.get("sslmode") in UNENCRYPTED_SSL_MODES:
        warning(
            "DATABASE_URL",
            "the connection to the database may be unencrypted: add ?sslmode=require "
            "(or verify-full)",
        )
    if not settings["PROXY_HOPS"]:
        warning(
            "QUIRE_PROXY_HOPS",
            "0: forwarded headers are ignored, so behind a PaaS router every client has the "
            "router's address (one rate limit for all) and https is not seen; set it to the "
            "number of proxies in front of Quire (1 on most platforms)",
        )
    if not settings["DATABASE_POOL"].statement_timeout:
        warning("QUIRE_DB_STATEMENT_TIMEOUT", "0: a runaway query can hold a connection for good")
    if settings["COMMENT_RULES"].moderation is Moderation.NONE:
        warning(
            "QUIRE_COMMENT_MODERATION",
            "none: every comment is published at once, spam included",
        )
    if settings["LOG_FORMAT"] != "json":
        warning("QUIRE_LOG_FORMAT", "text: a log drain reads JSON lines more reliably")
    return found


async def _database(settings: dict[str, Any], *, deploy: bool) -> list[Problem]:
    """Can Quire reach its database, is the schema current, and do all workers' pools
    fit in the connections PostgreSQL allows?"""
    url = settings["DATABASE_URL"]
    database_file = Path(make_url(url).database or "")
    if is_sqlite(url) and not await asyncio.to_thread(database_file.exists):
        return [Problem(Level.WARNING, "DATABASE_URL", "no database yet: run `quire db upgrade`")]
    engine = make_engine(url, settings["DATABASE_POOL"], pool_timeout=5)
    found: list[Problem] = []
    try:
        todo = await migrations.pending(engine)
        if todo:
            found.append(
                Problem(
                    Level.WARNING,
                    "DATABASE_URL",
                    f"{len(todo)} migration(s) not applied: run `quire db upgrade` "
                    "(the Procfile's release phase does)",
                )
            )
        if deploy and not todo and not await _has_base_url(engine, settings["SITE_FIXED"]):
            found.append(
                Problem(
                    Level.ERROR,
                    "QUIRE_BASE_URL",
                    "not set, here or on /admin/settings: canonical links, feeds and the "
                    "sitemap would name whatever host a request claims; set it to the "
                    "address readers use, such as https://blog.example",
                )
            )
        if deploy and not is_sqlite(url):
            async with engine.connect() as connection:
                allowed = int(await connection.scalar(text("SHOW max_connections")) or 0)
            pool = settings["DATABASE_POOL"]
            workers = settings["WEB_CONCURRENCY"]
            wanted = workers * (pool.size + pool.overflow + CLOCK_CONNECTIONS)
            if wanted > allowed - SPARE_CONNECTIONS:
                found.append(
                    Problem(
                        Level.ERROR,
                        "QUIRE_DB_POOL_SIZE",
                        f"{workers} worker(s) may open {wanted} connections, but the database "
                        f"allows {allowed} ({SPARE_CONNECTIONS} kept spare): lower "
                        "QUIRE_DB_POOL_SIZE or QUIRE_DB_MAX_OVERFLOW (per instance: "
                        "multiply by the number of instances too)",
                    )
                )
    except Exception as error:  # any failure to connect is the finding itself
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        found.append(Problem(Level.ERROR, "DATABASE_URL", f"cannot reach the database: {reason}"))
    finally:
        await engine.dispose()
    return found


async def _has_base_url(engine: AsyncEngine, fixed: Mapping[str, Any]) -> bool:
    if fixed.get("base_url"):
        return True
    async with make_sessionmaker(engine)() as session:
        return bool((await site.stored(session)).get("base_url"))


def _is_local(host: str | None) -> bool:
    if not host or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
