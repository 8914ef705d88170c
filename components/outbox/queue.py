"""The outbox's rows: claimed by one worker at a time, finished once, retried with backoff.

A worker claims a few due rows with one statement that also leases them (on PostgreSQL
`FOR UPDATE SKIP LOCKED`, so that instances never wait for each other; on SQLite the
statement holds the one writer's turn). It sends outside any transaction, then records
each outcome in one short transaction. The lease outlasts any send's own time limit, so
a row is never sent by two workers at once; a worker that dies mid-send leaves its rows
to be claimed again when the lease ends. A row once recorded as sent is never sent again.
"""

from __future__ import annotations

import asyncio
import enum
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from components.db import is_conflict
from components.models import Delivery, DeliveryState, utcnow

T = TypeVar("T")

# After each failed attempt, the wait before the next: then 24 hours each time, until
# GIVE_UP_AFTER from the row's creation.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
)
GIVE_UP_AFTER = timedelta(days=4)
# Runs of a transaction that keeps losing races for the database, and the first pause.
ATTEMPTS = 6
FIRST_PAUSE_SECONDS = 0.05
# Longer than any sender's own time limit for one claim (components/outbox/worker.py).
LEASE = timedelta(minutes=10)
MAX_ERROR = 500


class Result(enum.Enum):
    SENT = "sent"
    RETRY = "retry"  # a failure that may pass: try again after the backoff
    REFUSED = "refused"  # a failure that will not pass: failed for good
    LATER = "later"  # not yet, no attempt spent (a scheduled post not live yet)
    DROPPED = "dropped"  # no longer wanted (the post went back to draft): cancelled


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery."""

    result: Result
    error: str = ""
    later: datetime | None = None

    @classmethod
    def sent(cls) -> Outcome:
        return cls(Result.SENT)

    @classmethod
    def retry(cls, error: str) -> Outcome:
        return cls(Result.RETRY, error)

    @classmethod
    def refused(cls, error: str) -> Outcome:
        return cls(Result.REFUSED, error)

    @classmethod
    def at(cls, when: datetime) -> Outcome:
        return cls(Result.LATER, later=when)

    @classmethod
    def dropped(cls, why: str) -> Outcome:
        return cls(Result.DROPPED, why)


def _due(now: datetime, channels: Sequence[str]) -> list[ColumnElement[bool]]:
    return [
        Delivery.state == DeliveryState.PENDING,
        Delivery.due_at <= now,
        Delivery.channel.in_(channels),
        or_(Delivery.leased_until.is_(None), Delivery.leased_until < now),
    ]


async def due_channels(
    session: AsyncSession, channels: Sequence[str], now: datetime | None = None
) -> set[str]:
    """Which of `channels` have rows due: a read, so that an idle worker's look every
    second takes no write lock (SQLite has one for the whole database)."""
    now = now or utcnow()
    found = await session.scalars(
        select(Delivery.channel).where(*_due(now, channels)).group_by(Delivery.channel)
    )
    return set(found)


async def claim(
    session: AsyncSession, channels: Sequence[str], *, limit: int, now: datetime | None = None
) -> list[Delivery]:
    """Lease up to `limit` due rows of `channels` to the caller, oldest due first; the
    caller commits. Rows another worker holds are skipped, not waited for."""
    now = now or utcnow()
    # A CTE, not `id IN (subquery)`: PostgreSQL may run such a subquery more than once
    # in an UPDATE, and each run would lock `limit` more rows. A CTE that locks runs once.
    chosen = (
        select(Delivery.id)
        .where(*_due(now, channels))
        .order_by(Delivery.due_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("chosen")
    )
    leased = await session.scalars(
        update(Delivery)
        .where(Delivery.id == chosen.c.id)
        .values(leased_until=now + LEASE, attempts=Delivery.attempts + 1)
        .returning(Delivery.id)
        .execution_options(synchronize_session=False)
    )
    ids = list(leased)
    if not ids:
        return []
    rows = await session.scalars(
        select(Delivery)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.due_at, Delivery.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def finish(
    session: AsyncSession, delivery: Delivery, outcome: Outcome, now: datetime | None = None
) -> DeliveryState:
    """Record what became of `delivery`: sent, due again later, or finished for good."""
    now = now or utcnow()
    values: dict[str, object] = {"leased_until": None, "last_error": outcome.error[:MAX_ERROR]}
    wait = _wait(delivery.attempts)
    if outcome.result is Result.SENT:
        values |= {"state": DeliveryState.SENT, "finished_at": now}
    elif outcome.result is Result.DROPPED:
        values |= {"state": DeliveryState.CANCELLED, "finished_at": now}
    elif outcome.result is Result.LATER:
        # Not an attempt: the claim's count is given back.
        values |= {"due_at": outcome.later or now, "attempts": Delivery.attempts - 1}
    elif outcome.result is Result.REFUSED or now + wait > delivery.created_at + GIVE_UP_AFTER:
        values |= {"state": DeliveryState.FAILED, "finished_at": now}
    else:
        values["due_at"] = now + wait
    await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery.id, Delivery.state == DeliveryState.PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    state = values.get("state", DeliveryState.PENDING)
    assert isinstance(state, DeliveryState)
    return state


async def finish_all(
    session: AsyncSession, outcomes: Sequence[tuple[Delivery, Outcome]], now: datetime | None = None
) -> dict[int, DeliveryState]:
    """finish() for a batch: the rows sent are recorded in one statement, the rest one by
    one (each has its own wait or error). The state each row is in now, by id."""
    now = now or utcnow()
    sent = [row.id for row, outcome in outcomes if outcome.result is Result.SENT]
    states = dict.fromkeys(sent, DeliveryState.SENT)
    if sent:
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_(sent), Delivery.state == DeliveryState.PENDING)
            .values(state=DeliveryState.SENT, finished_at=now, leased_until=None, last_error="")
            .execution_options(synchronize_session=False)
        )
    for row, outcome in outcomes:
        if outcome.result is not Result.SENT:
            states[row.id] = await finish(session, row, outcome, now)
    return states


async def in_transaction(
    sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """`work` in one transaction, run again when it loses a race for the database (SQLite's
    lock past its busy timeout, a PostgreSQL deadlock): an outcome left unrecorded would
    have its row sent again once the lease ends."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with sessions() as session, session.begin():
                return await work(session)
        except DBAPIError as error:
            if attempt == ATTEMPTS or not is_conflict(error):
                raise
        await asyncio.sleep(FIRST_PAUSE_SECONDS * 2 ** (attempt - 1))
    raise AssertionError("unreachable: the last attempt returns or raises")


def _wait(attempts: int) -> timedelta:
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


@dataclass(frozen=True)
class Summary:
    """`quire outbox`: how many rows of each channel are in each state, and the failures."""

    counts: Counter[tuple[str, str]]
    next_due: datetime | None
    failed: Sequence[Delivery]


async def summary(session: AsyncSession, *, failed_limit: int = 20) -> Summary:
    rows = await session.execute(
        select(Delivery.channel, Delivery.state, func.count()).group_by(
            Delivery.channel, Delivery.state
        )
    )
    counts: Counter[tuple[str, str]] = Counter()
    for channel, state, count in rows:
        counts[(channel, str(state))] = count
    next_due = await session.scalar(
        select(func.min(Delivery.due_at)).where(Delivery.state == DeliveryState.PENDING)
    )
    failed = await session.scalars(
        select(Delivery)
        .where(Delivery.state == DeliveryState.FAILED)
        .order_by(Delivery.finished_at.desc(), Delivery.id.desc())
        .limit(failed_limit)
    )
    return Summary(counts, next_due, list(failed))
