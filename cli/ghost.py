"""`quire import ghost-export.json`: a Ghost export, one post or page per transaction.

components/ghost does the work; this reads the file and reports as it goes.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cli.runs import Report, Show, imported, in_transaction, skipped
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
        skipped(report, show, f"{path}: cannot read it ({error.strerror})")
        return
    except export.GhostError as error:
        line = f":{error.line}" if error.line else ""
        skipped(report, show, f"{path}{line}: {error.message}")
        return
    context = load.Context(options=options, media=media, by_author=options.author is None)
    undated = datetime.fromtimestamp(modified, UTC)
    for post in posts:
        where = f"{path}: {post.type} {post.slug or post.id} ({post.title[:60] or 'untitled'})"
        work = functools.partial(_import_post, post=post, context=context, undated=undated)
        done = await in_transaction(engine, work, dry_run=options.dry_run, what=where)
        if isinstance(done, str):
            skipped(report, show, done)
        else:
            imported(report, show, where, done)
