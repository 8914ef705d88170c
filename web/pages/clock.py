"""Reads of the content clock, each shared by the requests that wait for it.

Every request for a public page reads the clock (components/clock.py), so a write
acknowledged to anyone is on the next page any worker sends. The clock is read once for
many requests: one that arrives while a read is in flight waits for the next read, which
starts after it came in, so no request is ever answered from a read made before it arrived.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from quart import current_app

from components.clock import Moment, Reader
from web.database import ENGINE

CLOCK = "quire.clock"


class Clock:
    """Reads of the content clock, each shared by the requests that wait for it."""

    def __init__(
        self,
        read: Callable[[], Awaitable[Moment]],
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._read = read
        self._close = close
        self._reading: asyncio.Task[None] | None = None
        self._next: asyncio.Future[Moment] | None = None

    async def close(self) -> None:
        """Let go of what the reads need (the connection), once serving ends."""
        if self._reading is not None:
            # Not cancelled: the driver's thread would still hand its answer to a loop that
            # may be closed by then. A read is bounded by the database's own timeouts.
            await asyncio.wait([self._reading])
        if self._close is not None:
            await self._close()

    async def now(self) -> Moment:
        """The clock as read by a statement that started after this call."""
        loop = asyncio.get_running_loop()
        if self._reading is None:
            waiter: asyncio.Future[Moment] = loop.create_future()
            self._reading = asyncio.create_task(self._reads(waiter))
        else:
            # The read in flight may have started before we came: wait for the next one.
            if self._next is None:
                self._next = loop.create_future()
            waiter = self._next
        # A request that goes away stops waiting, without cancelling the others' read.
        return await asyncio.shield(waiter)

    async def _reads(self, waiter: asyncio.Future[Moment]) -> None:
        while True:
            try:
                waiter.set_result(await self._read())
            except Exception as error:
                waiter.set_exception(error)
                waiter.exception()  # retrieved: those waiting raise it, none is left unseen
            if self._next is None:
                self._reading = None
                return
            waiter, self._next = self._next, None


def clock_of(extensions: dict[str, Any]) -> Clock:
    """The app's clock, from its extensions (made on first use, once the engine is open)."""
    clock: Clock | None = extensions.get(CLOCK)
    if clock is None:
        reader = Reader(extensions[ENGINE])
        clock = extensions[CLOCK] = Clock(reader.read, reader.close)
    return clock


async def close_clock() -> None:
    """The clock's connection goes with the engine it came from (an after_serving hook)."""
    clock: Clock | None = current_app.extensions.pop(CLOCK, None)
    if clock is not None:
        await clock.close()
