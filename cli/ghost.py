"""`quire import ghost-export.json`: a Ghost export, one post or page per transaction.

components/ghost does the work; this reads the file and reports as it goes.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cli.runs import Report, Show, in_transaction
from components import importer
from components.ghost import export, load


def _read(path: Path) -> tuple[list[export.Post], float]:
    return export.read(path.read_bytes()), path.stat().st_mtime


def count(path: Path) -> int:
    """How many posts and pages the export holds (0 when it cannot be read)."""
    try:
        return len(_read(path)[0])
    except (OSError, export.GhostError):
        return 0


async def _import_post(
    session: AsyncSession, *, post: export.Post, context: load.Context, undated: datetime
) -> importer.Imported:
    return await load.import_post(session, post, context, undated=undated)


def _skip(report: Report, show: Show, problem: str) -> None:
    report.counts["skipped"] += 1
    report.problems.append(problem)
    show(f"skipped   {problem}", True)


async def import_export(
    engine: AsyncEngine,
    path: Path,
    *,
    options: importer.Options,
    media: Path | None,
    report: Report,
    show: Show,
) -> None:
    """Import every post and page of the Ghost export at `path` into `report`."""
    try:
        posts, modified = await asyncio.to_thread(_read, path)
    except OSError as error:
        _skip(report, show, f"{path}: cannot read it ({error.strerror})")
        return
    except export.GhostError as error:
        line = f":{error.line}" if error.line else ""
        _skip(report, show, f"{path}{line}: {error.message}")
        return
    context = load.Context(options=options, media=media, by_author=options.author is None)
    undated = datetime.fromtimestamp(modified, UTC)
    for post in posts:
        where = f"{path}: {post.type} {post.slug or post.id} ({post.title[:60] or 'untitled'})"
        work = functools.partial(_import_post, post=post, context=context, undated=undated)
        done = await in_transaction(engine, work, dry_run=options.dry_run, what=where)
        if isinstance(done, str):
            _skip(report, show, done)
            continue
        report.counts[done.outcome.value] += 1
        report.images += done.images
        report.notes.extend(f"{where}: {warning}" for warning in done.warnings)
        show(f"{done.outcome.value:<9} {where} -> {done.slug}", False)
