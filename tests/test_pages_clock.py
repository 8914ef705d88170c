"""Reads of the content clock shared by the requests that wait for them (web/pages/clock.py)."""

from __future__ import annotations

import asyncio

import pytest

from components.clock import EPOCH, Moment
from web.pages.clock import Clock


async def settle() -> None:
    """Let every task that can run, run."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_the_clock_never_answers_from_a_read_that_began_before_the_call() -> None:
    reads: list[asyncio.Event] = []

    async def read() -> Moment:
        reads.append(gate := asyncio.Event())
        number = len(reads)
        await gate.wait()
        return Moment(number, EPOCH)

    clock = Clock(read)
    first = asyncio.create_task(clock.now())
    await settle()
    assert len(reads) == 1
    # These come while the first read is in flight: it may predate them, so they wait
    # for a second read, which they share.
    later = [asyncio.create_task(clock.now()) for _ in range(3)]
    await settle()
    assert len(reads) == 1
    reads[0].set()
    assert (await first).version == 1
    await settle()
    assert len(reads) == 2
    reads[1].set()
    assert [(await task).version for task in later] == [2, 2, 2]
    # Nothing waiting: the next call starts a read of its own.
    third = asyncio.create_task(clock.now())
    await settle()
    reads[2].set()
    assert (await third).version == 3


async def test_a_failed_read_reaches_those_waiting_and_the_next_call_reads_again() -> None:
    attempts = 0

    async def read() -> Moment:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionRefusedError("database down")
        return Moment(7, EPOCH)

    clock = Clock(read)
    with pytest.raises(ConnectionRefusedError):
        await clock.now()
    assert (await clock.now()).version == 7


async def test_closing_the_clock_waits_for_the_read_in_flight() -> None:
    gate = asyncio.Event()
    events: list[str] = []

    async def read() -> Moment:
        await gate.wait()
        events.append("read")
        return Moment(1, EPOCH)

    async def close() -> None:
        events.append("closed")

    clock = Clock(read, close)
    reader = asyncio.create_task(clock.now())
    await settle()
    closing = asyncio.create_task(clock.close())
    await settle()
    assert events == []  # the connection stays open while the read still needs it
    gate.set()
    await closing
    assert events == ["read", "closed"]
    assert (await reader).version == 1
