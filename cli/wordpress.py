"""`quire import export.xml`: a WordPress export, one post or page per transaction.

The file is read twice, streaming: once for what posts refer to (authors, attachments'
addresses, the site's address), once to import. components/wordpress does the work.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cli.runs import Report, Show, imported, in_transaction, skipped
from components import importer
from components.wordpress import load, wxr


def _scan(path: Path) -> tuple[wxr.Export, dict[int, str], int, wxr.WxrError | None]:
    """The export's facts, its attachments' addresses, how many posts and pages it
    holds, and where it breaks (blocking: it reads the file)."""
    export = wxr.Export()
    attachments: dict[int, str] = {}
    items = 0
    try:
        with path.open("rb") as file:
            for item in wxr.read(file, export):
                if item.type == "attachment" and item.attachment_url:
                    attachments[item.id] = item.attachment_url
                elif _wanted(item):
                    items += 1
    except wxr.WxrError as error:
        return export, attachments, items, error
    return export, attachments, items, None


def _wanted(item: wxr.Item) -> bool:
    return item.type in load.KINDS and item.status not in load.SKIPPED_STATUSES


def _items(path: Path) -> Iterator[wxr.Item]:
    with path.open("rb") as file:
        try:
            yield from (item for item in wxr.read(file, wxr.Export()) if _wanted(item))
        except wxr.WxrError:
            return  # told once, by the scan


async def _import_item(
    session: AsyncSession, *, item: wxr.Item, context: load.Context, undated: datetime
) -> load.Done:
    return await load.import_item(session, item, context, undated=undated)


def count(path: Path) -> int:
    """How many posts and pages the export at `path` holds (for the progress bar)."""
    return _scan(path)[2]


async def import_export(
    engine: AsyncEngine,
    path: Path,
    *,
    options: importer.Options,
    media: Path | None,
    report: Report,
    show: Show,
) -> None:
    """Import every post and page of the WordPress export at `path` into `report`."""
    try:
        export, attachments, _, broken = await asyncio.to_thread(_scan, path)
    except OSError as error:
        skipped(report, show, f"{path}: cannot read it ({error.strerror})")
        return
    context = load.Context(
        export=export,
        options=options,
        attachments=attachments,
        media=media,
        by_author=options.author is None,
    )
    modified = await asyncio.to_thread(lambda: path.stat().st_mtime)
    undated = datetime.fromtimestamp(modified, UTC)
    items = _items(path)
    while (item := await asyncio.to_thread(next, items, None)) is not None:
        where = f"{path}: {item.type} {item.id} ({item.title[:60] or 'untitled'})"
        work = functools.partial(_import_item, item=item, context=context, undated=undated)
        done = await in_transaction(engine, work, dry_run=options.dry_run, what=where)
        if isinstance(done, str):
            skipped(report, show, done)
        else:
            report.comments += done.comments
            imported(report, show, where, done.imported)
    if broken is not None:
        line = f":{broken.line}" if broken.line else ""
        skipped(report, show, f"{path}{line}: {broken.message}; what came before was imported")
