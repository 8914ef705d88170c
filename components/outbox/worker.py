"""The outbox worker: inside every `quire serve` process, it sends what is due.

No cron and no separate process: each server process runs one worker as a background
task. They share the rows through leases (components/outbox/queue.py), so two processes,
or two instances on one PostgreSQL database, never send the same row. A worker looks for
due rows every `idle` seconds when there was nothing to do, and at once after a batch.

Each channel has a sender: it gets the claimed rows and answers an Outcome for each.
A sender that raises, or that outlasts its time limit, costs its rows one attempt; the
worker goes on with the next batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from components.models import Delivery, DeliveryState
from components.outbox import queue
from components.outbox.queue import LEASE, Outcome

log = logging.getLogger(__name__)

# A sender's time for one claim: well inside the lease, so no row is claimed twice.
SEND_SECONDS = LEASE.total_seconds() / 2


class Sender(Protocol):
    """Sends one channel's deliveries."""

    channel: str
    # Rows claimed at a time.
    batch: int

    async def deliver(self, rows: Sequence[Delivery], outcomes: dict[int, Outcome]) -> None:
        """Put an outcome for each row's id in `outcomes` as soon as it is known: what is
        there when the sender fails or runs out of time is kept (a mail sent is never
        sent again), and a row left out is tried again later."""
        ...


class Worker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Sequence[Sender],
        *,
        idle: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.senders = {sender.channel: sender for sender in senders}
        self.idle = idle
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for due rows now (a change was just committed)."""
        self._wake.set()

    async def run(self) -> None:
        """Send what is due until cancelled."""
        while True:
            try:
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The database went away, say: log it and try again after the pause.
                log.exception("the outbox worker could not read or record deliveries")
                handled = 0
            if not handled:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.idle):
                        await self._wake.wait()
                self._wake.clear()

    async def run_once(self) -> int:
        """One batch of each channel's due rows, sent and recorded; how many."""
        async with self.sessions() as session:
            due = await queue.due_channels(session, list(self.senders))
        handled = 0
        for channel in sorted(due):
            handled += await self._batch(self.senders[channel])
        return handled

    async def _batch(self, sender: Sender) -> int:
        async def claim(session: AsyncSession) -> list[Delivery]:
            rows = await queue.claim(session, [sender.channel], limit=sender.batch)
            session.expunge_all()
            return rows

        rows = await queue.in_transaction(self.sessions, claim)
        if not rows:
            return 0
        outcomes = await self._send(sender, rows)

        results = [(row, outcomes.get(row.id) or Outcome.retry("not sent")) for row in rows]

        async def record(session: AsyncSession) -> dict[int, DeliveryState]:
            return await queue.finish_all(session, results)

        states = await queue.in_transaction(self.sessions, record)
        for row, outcome in results:
            if outcome.error:
                log.info(
                    "delivery %d (%s %s): %s, now %s",
                    row.id,
                    row.channel,
                    row.purpose,
                    outcome.error,
                    states[row.id],
                )
        return len(rows)

    async def _send(self, sender: Sender, rows: Sequence[Delivery]) -> Mapping[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        try:
            async with asyncio.timeout(SEND_SECONDS):
                await sender.deliver(rows, outcomes)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            missing = Outcome.retry("the sender ran out of time")
            return {row.id: outcomes.get(row.id, missing) for row in rows}
        except Exception as error:
            log.exception("the %s sender failed", sender.channel)
            missing = Outcome.retry(f"the sender failed: {error}")
            return {row.id: outcomes.get(row.id, missing) for row in rows}
        return outcomes
