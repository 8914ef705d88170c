"""The outbox (components/outbox): rows claimed by one worker at a time under a lease,
sent once, retried with backoff for days, given up after that; a sender that fails or
hangs costs its rows an attempt; `quire outbox` shows it all."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cli.outbox import report
from components.db import make_engine, make_sessionmaker
from components.models import Delivery, DeliveryState, utcnow
from components.outbox import queue, worker
from components.outbox.queue import Outcome
from tests.conftest import backend_url, reset_database, run_async, session_on
from tests.portability import Blog


async def queued(db: AsyncSession, count: int, channel: str = "test") -> list[int]:
    rows = [Delivery(channel=channel, purpose="check", payload={"n": n}) for n in range(count)]
    db.add_all(rows)
    await db.commit()
    return [row.id for row in rows]


async def reread(db: AsyncSession, delivery_id: int) -> Delivery:
    query = select(Delivery).where(Delivery.id == delivery_id)
    return (await db.scalars(query.execution_options(populate_existing=True))).one()


async def test_a_claimed_row_is_leased_to_one_worker_until_its_lease_ends(
    db: AsyncSession, database_url: str
) -> None:
    [row_id] = await queued(db, 1)
    async with session_on(database_url) as first, session_on(database_url) as second:
        claimed = await queue.claim(first, ["test"], limit=10)
        await first.commit()
        assert [row.id for row in claimed] == [row_id] and claimed[0].attempts == 1
        assert await queue.claim(second, ["test"], limit=10) == []
        await second.commit()
        later = utcnow() + queue.LEASE + timedelta(seconds=1)
        again = await queue.claim(second, ["test"], limit=10, now=later)
        await second.commit()
        assert [row.id for row in again] == [row_id] and again[0].attempts == 2


async def test_only_due_rows_of_the_asked_channels_are_claimed(db: AsyncSession) -> None:
    [due] = await queued(db, 1)
    [other] = await queued(db, 1, channel="other")
    later = Delivery(channel="test", purpose="check", due_at=utcnow() + timedelta(hours=1))
    db.add(later)
    await db.commit()
    claimed = await queue.claim(db, ["test"], limit=10)
    assert [row.id for row in claimed] == [due]
    assert other != due


async def test_a_sent_row_is_never_claimed_again(db: AsyncSession) -> None:
    [row_id] = await queued(db, 1)
    [row] = await queue.claim(db, ["test"], limit=1)
    assert await queue.finish(db, row, Outcome.sent()) is DeliveryState.SENT
    await db.commit()
    forever = utcnow() + timedelta(days=30)
    assert await queue.claim(db, ["test"], limit=1, now=forever) == []
    stored = await reread(db, row_id)
    assert stored.state is DeliveryState.SENT and stored.finished_at is not None


async def test_failures_back_off_then_give_up_after_days(db: AsyncSession) -> None:
    [row_id] = await queued(db, 1)
    now = utcnow()
    waits = []
    for _ in range(30):
        claimed = await queue.claim(db, ["test"], limit=1, now=now)
        if not claimed:
            break
        state = await queue.finish(db, claimed[0], Outcome.retry("busy"), now=now)
        await db.commit()
        stored = await reread(db, row_id)
        if state is DeliveryState.FAILED:
            break
        waits.append(stored.due_at - now)
        now = stored.due_at
    assert waits[:4] == list(queue.BACKOFF[:4])
    assert max(waits) == timedelta(hours=24)
    stored = await reread(db, row_id)
    assert stored.state is DeliveryState.FAILED and stored.last_error == "busy"
    assert stored.finished_at is not None
    assert stored.finished_at - stored.created_at <= queue.GIVE_UP_AFTER + timedelta(hours=24)
    assert stored.finished_at - stored.created_at >= queue.GIVE_UP_AFTER - timedelta(hours=24)


async def test_a_refusal_fails_at_once_and_later_spends_no_attempt(db: AsyncSession) -> None:
    refused_id, later_id = await queued(db, 2)
    rows = {row.id: row for row in await queue.claim(db, ["test"], limit=2)}
    await queue.finish(db, rows[refused_id], Outcome.refused("550 no such user"))
    tomorrow = utcnow() + timedelta(days=1)
    await queue.finish(db, rows[later_id], Outcome.at(tomorrow))
    await db.commit()
    assert (await reread(db, refused_id)).state is DeliveryState.FAILED
    postponed = await reread(db, later_id)
    assert postponed.state is DeliveryState.PENDING
    assert (postponed.due_at, postponed.attempts) == (tomorrow, 0)


async def test_two_workers_on_postgresql_share_the_rows_without_waiting(
    pg_url: str, postgres_schema: None, tmp_path: Path
) -> None:
    """SKIP LOCKED is PostgreSQL's; on SQLite the claim holds the one writer's turn."""
    await reset_database(pg_url)
    async with session_on(pg_url) as setup:
        await queued(setup, 10)
    async with session_on(pg_url) as first, session_on(pg_url) as second:
        mine = await queue.claim(first, ["test"], limit=4)  # its transaction stays open
        theirs = await asyncio.wait_for(queue.claim(second, ["test"], limit=10), timeout=60)
        await first.commit()
        await second.commit()
    assert len(mine) == 4 and len(theirs) == 6
    assert not {row.id for row in mine} & {row.id for row in theirs}


class Flaky:
    """A sender that answers as told: sent, raises, or hangs."""

    channel = "test"
    batch = 10

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.seen: list[int] = []

    async def deliver(self, rows: Sequence[Delivery], outcomes: dict[int, Outcome]) -> None:
        self.seen.extend(row.id for row in rows)
        outcomes[rows[0].id] = Outcome.sent()  # the first one went out before anything else
        if self.behaviour == "raise":
            raise ConnectionError("the other side hung up")
        if self.behaviour == "hang":
            await asyncio.Event().wait()
        outcomes[rows[1].id] = Outcome.sent()  # the last one left out


@pytest.mark.parametrize("behaviour", ["send", "raise", "hang"])
async def test_the_worker_records_every_claimed_row_whatever_its_sender_does(
    db: AsyncSession, database_url: str, behaviour: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await queued(db, 3)
    monkeypatch.setattr(worker, "SEND_SECONDS", 0.2)
    engine = make_engine(database_url)
    try:
        sender = Flaky(behaviour)
        running = worker.Worker(make_sessionmaker(engine), [sender])
        assert await running.run_once() == 3
        assert await running.run_once() == 0, "nothing is due again at once"
    finally:
        await engine.dispose()
    states = [(await reread(db, row_id)) for row_id in ids]
    if behaviour == "send":
        assert [row.state for row in states] == [DeliveryState.SENT] * 2 + [DeliveryState.PENDING]
        assert states[2].last_error == "not sent"
    else:
        # What was sent before the failure stays sent: it is never sent twice.
        assert states[0].state is DeliveryState.SENT
        expected = "the sender failed" if behaviour == "raise" else "ran out of time"
        assert all(row.state is DeliveryState.PENDING for row in states[1:])
        assert all(expected in row.last_error and row.leased_until is None for row in states[1:])
        assert all(row.due_at > utcnow() for row in states[1:])


def test_quire_outbox_shows_counts_the_next_due_and_the_failures(
    backend: str, postgres_schema: None, tmp_path: Path
) -> None:
    blog = Blog.empty(backend_url(backend, tmp_path), tmp_path)
    assert "the outbox is empty" in blog.quire("outbox").output

    async def fill() -> None:
        async with session_on(blog.url) as session:
            now = utcnow()
            session.add_all(
                [
                    Delivery(channel="mail", purpose="post", due_at=now + timedelta(hours=2)),
                    Delivery(channel="mail", purpose="post", state=DeliveryState.SENT),
                    Delivery(
                        channel="mail",
                        purpose="post",
                        state=DeliveryState.FAILED,
                        attempts=3,
                        last_error="refused for good: 550 no such mailbox",
                        finished_at=now,
                    ),
                ]
            )
            await session.commit()

    run_async(fill())
    shown = blog.quire("outbox")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert lines[0].split() == ["channel", "pending", "sent", "failed", "cancelled"]
    assert lines[1].split() == ["mail", "1", "1", "1", "0"]
    assert "next due:" in shown.output and "(in 2.0 h)" in shown.output
    assert "3 attempt(s): refused for good: 550 no such mailbox" in shown.output


def test_the_report_of_an_empty_outbox() -> None:
    empty = queue.Summary(counts=Counter(), next_due=None, failed=[])
    assert report(empty) == "the outbox is empty: nothing was ever queued"
