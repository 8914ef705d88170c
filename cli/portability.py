"""`quire import` and `quire export`: files in and out, with progress and a summary.

The work itself is in components/ (frontmatter, importer, exporter); this module
walks the folders, gives each file its own transaction, reports as it goes, and
supplies the public addresses, which only the web app knows (its URL rules).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sys
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import click
from quart import Quart
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from components import accounts, exporter, frontmatter, importer, site
from components.db import is_conflict, make_sessionmaker
from components.frontmatter import Source, SourceError
from components.models import User
from web import create_app
from web.urls import media_url, picture, post_url, taken_addresses

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd"})
# Folders that hold no posts of their own: build outputs, dependencies, version control.
SKIPPED_FOLDERS = frozenset({"_site", "node_modules", "public", "resources"})

# A file whose transaction loses a race with a running server's writers (SQLite's write
# lock, a PostgreSQL deadlock) is imported again from the start, a few times.
CONFLICT_ATTEMPTS = 5
FIRST_PAUSE_SECONDS = 0.05

logger = logging.getLogger(__name__)


def markdown_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """The Markdown files under `paths`, in a stable order, and the paths that are missing."""
    found: dict[Path, None] = {}
    missing = []
    for path in paths:
        if path.is_file():
            found[path] = None
        elif path.is_dir():
            for candidate in sorted(path.rglob("*")):
                relative = candidate.relative_to(path).parts
                if (
                    candidate.suffix.lower() in MARKDOWN_SUFFIXES
                    and candidate.name != "_index.md"  # a Hugo section's list page
                    and not any(
                        part.startswith(".") or part in SKIPPED_FOLDERS for part in relative
                    )
                    and candidate.is_file()
                ):
                    found[candidate] = None
        else:
            missing.append(f"{path}: no such file or folder")
    return list(found), missing


@contextlib.asynccontextmanager
async def web_links(app: Quart | None = None) -> AsyncIterator[importer.Links]:
    """The app's own URL rules, outside any request, for the addresses in posts."""
    app = app or create_app()
    async with app.test_request_context("/"):
        yield importer.Links(
            post_path=post_url, media_url=media_url, picture=picture, taken=taken_addresses()
        )


class Show(Protocol):
    """Told of each file as it is done: the line for it, and whether it is a problem."""

    def __call__(self, text: str, problem: bool = False, /) -> None: ...


@dataclass
class Report:
    """What an import did, file by file, and what it says at the end."""

    dry_run: bool
    counts: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0, "skipped": 0}
    )
    images: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Which file of this run claimed each address, so that two never take turns at one.
    slugs: dict[str, Path] = field(default_factory=dict)
    redirects: dict[str, Path] = field(default_factory=dict)

    def summary(self) -> str:
        verb = "would be " if self.dry_run else ""
        parts = [
            f"{number} {verb}{name}" for name, number in self.counts.items() if name != "skipped"
        ]
        line = ", ".join(parts)
        if self.images:
            line += f"; {self.images} image(s) {verb}added"
        if self.counts["skipped"]:
            line += f"; {self.counts['skipped']} file(s) skipped"
        prefix = "dry run, nothing written: " if self.dry_run else ""
        return f"{prefix}{line}"


def _where(path: Path, line: int | None) -> str:
    return f"{path}:{line}" if line else str(path)


async def _import_one(
    engine: AsyncEngine, path: Path, options: importer.Options, time_zone: str, report: Report
) -> tuple[str, bool]:
    """Import one file in its own transaction; the line to show for it, and whether it
    tells of a problem."""
    try:
        data = await asyncio.to_thread(path.read_bytes)
        modified = await asyncio.to_thread(lambda: path.stat().st_mtime)
        source = frontmatter.read(data, path, time_zone=time_zone)
    except SourceError as error:
        return _skip(report, f"{_where(path, error.line)}: {error.message}")
    except OSError as error:
        return _skip(report, f"{path}: cannot read it ({error.strerror})")
    if (first := report.slugs.setdefault(source.slug, path)) != path:
        return _skip(
            report,
            f"{path}: its address '{source.slug}' is already {first}'s in this import;"
            " give one of them another 'slug:'",
        )
    source = _without_taken_redirects(source, path, report)
    undated = datetime.fromtimestamp(modified, UTC)
    sessions = make_sessionmaker(engine)
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        async with sessions() as session:
            try:
                done = await importer.import_source(session, source, path, options, undated=undated)
                if options.dry_run:
                    await session.rollback()
                else:
                    await session.commit()
                break
            except importer.Refused as error:
                await session.rollback()
                return _skip(report, f"{path}: {error}")
            except SQLAlchemyError as error:
                await session.rollback()
                if attempt < CONFLICT_ATTEMPTS and is_conflict(error):
                    await _pause(attempt)
                    continue
                return _skip(
                    report, f"{path}: not imported, the database refused it: {_first_line(error)}"
                )
            except Exception as error:  # one file's surprise must not stop the rest
                await session.rollback()
                logger.exception("importing %s failed", path)
                surprise = f"unexpected {type(error).__name__}: {_first_line(error)}"
                return _skip(report, f"{path}: not imported, {surprise}")
    report.counts[done.outcome.value] += 1
    report.images += done.images
    report.notes.extend(f"{path}: {warning}" for warning in done.warnings)
    return f"{done.outcome.value:<9} {path} -> {done.slug}", False


async def _pause(attempt: int) -> None:
    """Wait before running a file's transaction again, longer each time, with jitter so
    that the import and the server's writers do not collide again in step."""
    pause = FIRST_PAUSE_SECONDS * 2 ** (attempt - 1) * (0.5 + random.random())  # noqa: S311
    await asyncio.sleep(pause)


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _without_taken_redirects(source: Source, path: Path, report: Report) -> Source:
    """The source without the former addresses an earlier file of this run claimed."""
    taken = [
        redirect
        for redirect in source.redirects
        if report.redirects.setdefault(redirect, path) != path
    ]
    if not taken:
        return source
    warnings = tuple(
        f"former address {redirect} is already {report.redirects[redirect]}'s; not redirected here"
        for redirect in taken
    )
    return replace(
        source,
        redirects=tuple(r for r in source.redirects if r not in taken),
        warnings=source.warnings + warnings,
    )


def _skip(report: Report, problem: str) -> tuple[str, bool]:
    report.counts["skipped"] += 1
    report.problems.append(problem)
    return f"skipped   {problem}", True


async def import_files(
    engine: AsyncEngine,
    files: list[Path],
    *,
    links: importer.Links,
    settings: Mapping[str, Any],
    author_email: str | None,
    time_zone: str,
    dry_run: bool,
    show: Show,
) -> Report:
    """Import `files` one transaction each; `show` is told of each file as it is done."""
    report = Report(dry_run=dry_run)
    options = importer.Options(
        links=links,
        media_folder=settings["INSTANCE_PATH"] / "media",
        max_image_bytes=settings["MEDIA_MAX_BYTES"],
        author=await _author(engine, author_email),
        comments_default=await _comments_default(engine, settings["SITE_FIXED"]),
        dry_run=dry_run,
    )
    for path in files:
        show(*await _import_one(engine, path, options, time_zone, report))
    return report


async def _author(engine: AsyncEngine, email: str | None) -> User | None:
    if email is None:
        return None
    async with make_sessionmaker(engine)() as session:
        user = await accounts.by_email(session, email)
    if user is None:
        raise click.ClickException(f"no account for {email}: see `quire user create`")
    return user


async def _comments_default(engine: AsyncEngine, fixed: Mapping[str, Any]) -> bool:
    async with make_sessionmaker(engine)() as session:
        return (await site.load(session, fixed)).comments_default


def is_terminal() -> bool:
    return sys.stdout.isatty()


@contextlib.contextmanager
def progress(total: int, label: str) -> Iterator[Show]:
    """A progress bar on a terminal; elsewhere (a log, a pipe) one plain line per file,
    problems on standard error."""
    if not is_terminal():

        def line(text: str, problem: bool = False) -> None:
            click.echo(text, err=problem)

        yield line
        return
    with click.progressbar(length=total, label=label, show_pos=True, file=sys.stdout) as bar:

        def step(_text: str, _problem: bool = False) -> None:
            bar.update(1)

        yield step


async def export_all(
    engine: AsyncEngine, folder: Path, *, links: importer.Links, show: Show
) -> exporter.Summary:
    async with make_sessionmaker(engine)() as session:
        return await exporter.export(session, folder, media_url=links.media_url, progress=show)
