"""The live comments' hub: the one reader of the event log in each process, and each
stream's inbox, with no HTTP in it (the streams themselves are web/streams).

The hub learns of new events from PostgreSQL's NOTIFY or, on SQLite, by looking at
the event log (components/comments/events) a few times a second, and reads them once
for all of the process's streams. A stream that falls too far behind is closed rather
than buffered without end; its browser reconnects and catches up from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from components.comments import events
from components.comments.events import Change
from components.db import is_sqlite

# On PostgreSQL, look at the log this often even without a notification: a NOTIFY
# sent while the listening connection was being replaced is not delivered.
SAFETY_SECONDS = 10.0
# How many events a stream may have waiting before it is dropped as too slow.
BACKLOG = 1000
# Rendered messages kept per process, so that a thousand readers cost one rendering.
RENDERED = 256

log = logging.getLogger(__name__)

Render = Callable[[Change], Awaitable[str]]


class Unavailable(Exception):
    """No stream can be opened now: the process holds its limit, or is shutting down."""


class Subscription:
    """One stream's inbox: the hub drops events in, the stream takes them out."""

    def __init__(self, post_id: int | None) -> None:
        self.post_id = post_id
        self.closed = False
        self._waiting: deque[Change] = deque()
        self._ready = asyncio.Event()

    def offer(self, changes: Sequence[Change]) -> None:
        mine = [c for c in changes if self.post_id is None or c.post_id == self.post_id]
        if not mine or self.closed:
            return
        if len(self._waiting) + len(mine) > BACKLOG:
            self.close()  # its browser reconnects and catches up from the log
            return
        self._waiting.extend(mine)
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    async def next(self, quiet: float) -> list[Change] | None:
        """What arrived since the last call ([] after `quiet` seconds of nothing); None once
        closed."""
        if not self._waiting and not self.closed:
            try:
                await asyncio.wait_for(self._ready.wait(), quiet)
            except TimeoutError:
                return []
        self._ready.clear()
        if self.closed:
            return None
        taken = list(self._waiting)
        self._waiting.clear()
        return taken


class Hub:
    """The process's one reader of the event log, from its first stream until shutdown."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: async_sessionmaker[AsyncSession],
        *,
        limit: int,
        poll_seconds: float,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._limit = limit
        self._poll_seconds = poll_seconds
        self._notifying = not is_sqlite(str(engine.url))
        self._subscriptions: set[Subscription] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._last = 0
        self._last_at: datetime | None = None
        self._closing = False
        self._listener: AsyncConnection | None = None
        self._driver: Any = None
        self._rendered: OrderedDict[tuple[str, int], str] = OrderedDict()

    @property
    def open_streams(self) -> int:
        return len(self._subscriptions)

    async def subscribe(self, post_id: int | None) -> Subscription:
        """A new stream's inbox, once the hub is reading the log (so nothing falls between)."""
        if self._closing or len(self._subscriptions) >= self._limit:
            raise Unavailable
        subscription = Subscription(post_id)
        self._subscriptions.add(subscription)
        if self._task is None or self._task.done():
            # Started by the first stream, it runs until shutdown.
            self._ready = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="quire-stream-hub")
        try:
            await asyncio.wait_for(self._ready.wait(), 10)
        except TimeoutError:
            self.unsubscribe(subscription)
            raise Unavailable from None
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def session(self) -> AsyncSession:
        return self._sessions()

    async def rendered(self, key: str, change: Change, render: Render) -> str:
        """A message rendered once per process for everyone who is sent the same."""
        cached = self._rendered.get((key, change.id))
        if cached is None:
            cached = await render(change)
            self._rendered[(key, change.id)] = cached
            if len(self._rendered) > RENDERED:
                self._rendered.popitem(last=False)
        return cached

    async def close(self) -> None:
        """End every stream and stop reading: the process is shutting down."""
        self._closing = True
        self._wake.set()
        for subscription in list(self._subscriptions):
            subscription.close()
        task = self._task
        if task is not None:
            # Let a read in progress finish rather than cut it off mid-query.
            done, _ = await asyncio.wait({task}, timeout=5)
            if not done:
                task.cancel()
            # Cancelled, or failed and already logged: either way it is done.
            with contextlib.suppress(BaseException):
                await task
        await self._stop_listening()

    # --- the reading loop -----------------------------------------------------------

    async def _run(self) -> None:
        try:
            await self._start()
            while not self._closing:
                try:
                    await self._wait()
                    if not self._closing:
                        await self._dispatch()
                except Exception:
                    # The database went away or restarted: keep trying, streams stay open.
                    log.exception("live comments: reading the event log failed; retrying")
                    await self._stop_listening()
                    await self._pause(1)
        finally:
            await self._stop_listening()

    async def _pause(self, seconds: float) -> None:
        """Sleep, unless the hub is woken (by a notification, or by closing)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _start(self) -> None:
        while not self._closing:
            try:
                if self._notifying:
                    await self._listen()
                async with self._sessions() as session:
                    await self._stand_at(session, await events.latest(session))
                break
            except Exception:
                log.exception("live comments: cannot read the event log; retrying")
                await self._stop_listening()
                await self._pause(1)
        self._ready.set()

    async def _wait(self) -> None:
        if self._notifying and (self._driver is None or self._driver.is_closed()):
            # Listening again: what was notified meanwhile is read now.
            await self._stop_listening()
            await self._listen()
            return
        await self._pause(SAFETY_SECONDS if self._notifying else self._poll_seconds)

    async def _dispatch(self) -> None:
        while True:
            async with self._sessions() as session:
                newest, written = await events.position(session, self._last)
                if newest < self._last or (self._last and written != self._last_at):
                    await self._rewound(session, newest)
                    return
                if newest == self._last:
                    return
                changes = await events.after(session, self._last)
            if not changes:
                return
            self._last, self._last_at = changes[-1].id, changes[-1].at
            for subscription in list(self._subscriptions):
                subscription.offer(changes)
            if len(changes) < events.MAX_BATCH:
                return

    async def _rewound(self, session: AsyncSession, newest: int) -> None:
        """The log was replaced (a database restored from a backup): ids seen before mean
        nothing now. Streams end, and their browsers reconnect and start afresh."""
        log.warning("live comments: the event log was replaced; streams start afresh")
        await self._stand_at(session, newest)
        self._rendered.clear()
        for subscription in list(self._subscriptions):
            subscription.close()

    async def _stand_at(self, session: AsyncSession, event_id: int) -> None:
        """Dispatch from after this event on, remembering when it was written."""
        self._last = event_id
        self._last_at = (await events.position(session, event_id))[1]

    async def _listen(self) -> None:
        # A connection of the app's own pool, kept for LISTEN: same settings, same limits.
        self._listener = await self._engine.connect()
        raw = await self._listener.get_raw_connection()
        self._driver = raw.driver_connection
        await self._driver.add_listener(events.CHANNEL, self._notified)
        self._driver.add_termination_listener(self._lost)

    def _notified(self, *_args: Any) -> None:
        self._wake.set()

    def _lost(self, *_args: Any) -> None:
        self._wake.set()

    async def _stop_listening(self) -> None:
        listener, driver = self._listener, self._driver
        self._listener = self._driver = None
        if listener is None:
            return
        try:
            if driver is not None and not driver.is_closed():
                await driver.remove_listener(events.CHANNEL, self._notified)
            await listener.close()
        except Exception:  # a dead connection cannot be closed politely
            with contextlib.suppress(Exception):
                await listener.invalidate()


async def catch_up(hub: Hub, post_id: int | None, after: int | None) -> tuple[int, list[Change]]:
    """What was missed since `after`, and where the stream now stands."""
    async with hub.session() as session:
        # Subscribed already, so nothing after this is lost. An id from before the log
        # was replaced (a restored backup) would hide everything new: such a browser
        # starts from now as well.
        newest = await events.latest(session)
        start = newest if after is None else min(after, newest)
        missed: list[Change] = []
        while True:
            found = await events.after(session, missed[-1].id if missed else start, post_id=post_id)
            missed += found
            if len(found) < events.MAX_BATCH:
                return start, missed
