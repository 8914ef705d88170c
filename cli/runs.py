"""What every import shares: one transaction per file (or post), run again when it loses
a race with a running server's writers, and the report the command prints at the end."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from components import importer
from components.db import is_conflict, make_sessionmaker

# A file whose transaction loses a race with a running server's writers (SQLite's write
# lock, a PostgreSQL deadlock) is imported again from the start, a few times.
CONFLICT_ATTEMPTS = 5
FIRST_PAUSE_SECONDS = 0.05

logger = logging.getLogger(__name__)
T = TypeVar("T")


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
    comments: int = 0
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
        if self.comments:
            line += f"; {self.comments} comment(s) {verb}added"
        if self.counts["skipped"]:
            line += f"; {self.counts['skipped']} file(s) skipped"
        prefix = "dry run, nothing written: " if self.dry_run else ""
        return f"{prefix}{line}"


async def in_transaction(
    engine: AsyncEngine, work: Callable[[AsyncSession], Awaitable[T]], *, dry_run: bool, what: str
) -> T | str:
    """`work` in a transaction of its own, committed (rolled back on a dry run), and run
    again from the start when it loses a race with a running server's writers; what went
    wrong, naming `what`, when it cannot be done."""
    sessions = make_sessionmaker(engine)
    for attempt in range(1, CONFLICT_ATTEMPTS + 1):
        async with sessions() as session:
            try:
                done = await work(session)
                if dry_run:
                    await session.rollback()
                else:
                    await session.commit()
                return done
            except importer.Refused as error:
                await session.rollback()
                return f"{what}: {error}"
            except SQLAlchemyError as error:
                await session.rollback()
                if attempt < CONFLICT_ATTEMPTS and is_conflict(error):
                    await _pause(attempt)
                    continue
                return f"{what}: not imported, the database refused it: {first_line(error)}"
            except Exception as error:  # one file's surprise must not stop the rest
                await session.rollback()
                logger.exception("importing %s failed", what)
                return (
                    f"{what}: not imported, unexpected {type(error).__name__}: {first_line(error)}"
                )
    raise AssertionError("unreachable: the last attempt returns")


async def _pause(attempt: int) -> None:
    """Wait before running a file's transaction again, longer each time, with jitter so
    that the import and the server's writers do not collide again in step."""
    pause = FIRST_PAUSE_SECONDS * 2 ** (attempt - 1) * (0.5 + random.random())  # noqa: S311
    await asyncio.sleep(pause)


def first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def skipped(report: Report, show: Show, problem: str) -> None:
    """Count `problem` as a skipped file or post, and tell it."""
    report.counts["skipped"] += 1
    report.problems.append(problem)
    show(f"skipped   {problem}", True)


def imported(report: Report, show: Show, where: str, done: importer.Imported) -> None:
    """Count what importing `where` did, keep its warnings, and tell it."""
    report.counts[done.outcome.value] += 1
    report.images += done.images
    report.notes.extend(f"{where}: {warning}" for warning in done.warnings)
    show(f"{done.outcome.value:<9} {where} -> {done.slug}", False)
