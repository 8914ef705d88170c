"""`quire import` and `quire export`: files in and out, with progress and a summary.

The work itself is in components/ (frontmatter, importer, exporter); this module
walks the folders, gives each file its own transaction, reports as it goes, and
supplies the public addresses, which only the web app knows (its URL rules).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sys
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from quart import Quart
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cli import ghost, runs, wordpress
from cli.runs import Report, Show
from components import accounts, exporter, frontmatter, importer, site, site_backup
from components.comments import backup
from components.db import make_sessionmaker
from components.frontmatter import Source, SourceError
from components.media import backup as library_backup
from components.media import refusals
from components.media.refusals import MediaError
from components.models import Post, User
from web import create_app
from web.urls import media_url, picture, post_url, taken_addresses

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd"})
# Folders that hold no posts of their own: build outputs, dependencies, version control.
SKIPPED_FOLDERS = frozenset({"_site", "node_modules", "public", "resources"})

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


def is_backup(path: Path) -> bool:
    """Whether `path` is a folder `quire export` wrote: it holds one of its data files."""
    data = (site_backup.PEOPLE_FILE, site_backup.SETTINGS_FILE, library_backup.MANIFEST)
    return path.is_dir() and any((path / name).is_file() for name in data)


@contextlib.asynccontextmanager
async def web_links(app: Quart | None = None) -> AsyncIterator[importer.Links]:
    """The app's own URL rules, outside any request, for the addresses in posts."""
    app = app or create_app()
    async with app.test_request_context("/"):
        yield importer.Links(
            post_path=post_url, media_url=media_url, picture=picture, taken=taken_addresses()
        )


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

    async def work(session: AsyncSession) -> importer.Imported:
        return await importer.import_source(session, source, path, options, undated=undated)

    done = await runs.in_transaction(engine, work, dry_run=options.dry_run, what=str(path))
    if isinstance(done, str):
        return _skip(report, done)
    report.counts[done.outcome.value] += 1
    report.images += done.images
    report.notes.extend(f"{path}: {warning}" for warning in done.warnings)
    return f"{done.outcome.value:<9} {path} -> {done.slug}", False


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
    exports: Sequence[Path] = (),
    media: Path | None = None,
    folders: Sequence[Path] = (),
) -> Report:
    """Import `files`, then the posts of the WordPress (.xml) and Ghost (.json) `exports`
    (their images under `media`), one transaction each; `show` is told of each as it is
    done."""
    report = Report(dry_run=dry_run)
    options = importer.Options(
        links=links,
        media_folder=settings["INSTANCE_PATH"] / "media",
        max_image_bytes=settings["MEDIA_MAX_BYTES"],
        author=await _author(engine, author_email),
        comments_default=await _comments_default(engine, settings["SITE_FIXED"]),
        dry_run=dry_run,
        roots=tuple(folder.resolve() for folder in folders),
    )
    # An export's people come first, so that its posts find their authors and its files
    # their owners; then its library, so that posts find their images there.
    people = {folder: await _people(engine, folder, report, show) for folder in folders}
    library = {folder: await _library(engine, folder, options, report, show) for folder in folders}
    for path in files:
        show(*await _import_one(engine, path, options, time_zone, report))
    for export in exports:
        reader = ghost if export.suffix.lower() == ".json" else wordpress
        await reader.import_export(
            engine, export, options=options, media=media, report=report, show=show
        )
    for folder in folders:
        if entries := people[folder]:
            await _note(
                engine,
                folder / site_backup.PEOPLE_FILE,
                functools.partial(_authorship, entries=entries, library=library[folder]),
                report,
            )
        if (folder / backup.COMMENTS_FILE).is_file():
            await _restore_comments(
                engine, folder / backup.COMMENTS_FILE, dry_run=dry_run, report=report, show=show
            )
        await _settings(engine, folder, library[folder], report, show)
    return report


async def _data_file(path: Path, report: Report, show: Show) -> str | None:
    try:
        return await asyncio.to_thread(path.read_text, "utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        show(*_skip(report, f"{path}: cannot read it ({error})"))
        return None


async def _note(
    engine: AsyncEngine, path: Path, work: Callable[[AsyncSession], Awaitable[str]], report: Report
) -> None:
    """Run one restore step in its own transaction, and tell what it did."""
    done = await runs.in_transaction(engine, work, dry_run=report.dry_run, what=str(path))
    report.notes.append(f"{path}: {done}")


async def _people(
    engine: AsyncEngine, folder: Path, report: Report, show: Show
) -> list[dict[str, Any]]:
    """An export's people, made where missing; [] when it has none."""
    path = folder / site_backup.PEOPLE_FILE
    if (text := await _data_file(path, report, show)) is None:
        return []
    try:
        entries = site_backup.parse_people(text)
    except site_backup.BackupError as error:
        show(*_skip(report, f"{path}: people not restored: {error}"))
        return []
    await _note(engine, path, functools.partial(_accounts, entries=entries), report)
    return entries


async def _accounts(session: AsyncSession, *, entries: list[dict[str, Any]]) -> str:
    made = await site_backup.restore_people(session, entries)
    return f"{made} account(s) made, disabled until an admin enables them"


async def _authorship(
    session: AsyncSession, *, entries: list[dict[str, Any]], library: Mapping[str, int]
) -> str:
    given = await site_backup.restore_authorship(session, entries)
    avatars = await site_backup.restore_avatars(session, entries, library)
    return f"{given} post(s) given their author, {avatars} avatar(s) given"


async def _library(
    engine: AsyncEngine, folder: Path, options: importer.Options, report: Report, show: Show
) -> dict[str, int]:
    """An export's media library, file by file, each in its own transaction: the library's
    id for each file name that is there now (none on a dry run for what it would add)."""
    path = folder / library_backup.MANIFEST
    if (text := await _data_file(path, report, show)) is None:
        return {}
    try:
        entries = library_backup.parse(text)
    except library_backup.BackupError as error:
        show(*_skip(report, f"{path}: media not restored: {error}"))
        return {}
    found: dict[str, int] = {}
    added = 0
    root = (folder / library_backup.MEDIA_FOLDER).resolve()
    for entry in entries:
        file = folder / library_backup.MEDIA_FOLDER / entry.file
        try:
            data = await asyncio.to_thread(_read_at_most, file, root, options.max_image_bytes)
        except OSError as error:
            show(*_skip(report, f"{file}: not restored: cannot read it ({error.strerror})"))
            continue
        if isinstance(data, int):
            limit = refusals.size(options.max_image_bytes)
            problem = f"the file is {refusals.size(data, up=True)}; the limit is {limit}"
            show(*_skip(report, f"{file}: not restored: {problem}"))
            continue
        work = functools.partial(_restore_file, entry=entry, data=data, options=options)
        done = await runs.in_transaction(engine, work, dry_run=options.dry_run, what=str(file))
        if isinstance(done, str):
            show(*_skip(report, done))
            continue
        if done.media_id is not None:
            found[entry.file] = done.media_id
        added += done.added
    report.images += added
    verb = "would be " if options.dry_run else ""
    report.notes.append(f"{path}: {added} of {len(entries)} file(s) {verb}added to the library")
    return found


def _read_at_most(file: Path, root: Path, limit: int) -> bytes | int:
    """The file's bytes, or its size when it is larger than `limit` (never read whole).
    Only a file inside `root`: a link out of the export is as good as missing."""
    if importer.inside(file, root) is None:
        raise FileNotFoundError(2, "no such file in the export")
    with file.open("rb") as opened:
        data = opened.read(limit + 1)
        return data if len(data) <= limit else os.fstat(opened.fileno()).st_size


async def _restore_file(
    session: AsyncSession,
    *,
    entry: library_backup.Entry,
    data: bytes,
    options: importer.Options,
) -> library_backup.Restored:
    try:
        return await library_backup.restore(
            session,
            entry,
            data,
            max_bytes=options.max_image_bytes,
            folder=options.media_folder,
            dry_run=options.dry_run,
            planned=options.planned,
        )
    except MediaError as error:
        raise importer.Refused(f"not restored: {error}") from None


async def _settings(
    engine: AsyncEngine, folder: Path, library: Mapping[str, int], report: Report, show: Show
) -> None:
    path = folder / site_backup.SETTINGS_FILE
    if (text := await _data_file(path, report, show)) is None:
        return
    try:
        values = site_backup.parse_settings(text)
    except site_backup.BackupError as error:
        show(*_skip(report, f"{path}: settings not restored: {error}"))
        return
    work = functools.partial(_kept_settings, values=values, library=library)
    await _note(engine, path, work, report)


async def _kept_settings(
    session: AsyncSession, *, values: dict[str, Any], library: Mapping[str, int]
) -> str:
    if await site_backup.restore_settings(session, values, library):
        return "settings restored"
    return "settings left as they are: this blog has its own"


async def _restore_comments(
    engine: AsyncEngine, path: Path, *, dry_run: bool, report: Report, show: Show
) -> None:
    """The comments of an export's _data/quire_comments.yml, post by post, after the
    posts themselves came in."""
    try:
        threads = backup.parse(await asyncio.to_thread(path.read_text, "utf-8"))
    except (OSError, UnicodeDecodeError, backup.BackupError) as error:
        show(*_skip(report, f"{path}: comments not restored: {error}"))
        return
    for slug, entries in threads.items():
        work = functools.partial(_restore_thread, slug=slug, entries=entries)
        done = await runs.in_transaction(
            engine, work, dry_run=dry_run, what=f"{path}: comments of '{slug}'"
        )
        if isinstance(done, str):
            show(*_skip(report, done))
        elif done is None and dry_run and slug in report.slugs:
            report.comments += len(entries)  # its post would have come in first
        elif done is None:
            report.notes.append(f"{path}: comments of '{slug}' left out: no such post")
        else:
            report.comments += done


async def _restore_thread(
    session: AsyncSession, *, slug: str, entries: list[backup.Entry]
) -> int | None:
    post_id = await session.scalar(select(Post.id).where(Post.slug == slug))
    if post_id is None:
        return None
    return await backup.restore(session, post_id, entries)


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
