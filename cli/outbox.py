"""`quire outbox`: what the outbox holds (components/outbox/queue.py), by channel and
state, when the next delivery is due, and the latest failures with their reasons.
Addresses are not printed: a failure names its subscriber by id."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from cli import base
from components.db import make_sessionmaker
from components.models import DeliveryState, utcnow
from components.outbox import queue


@click.command("outbox", short_help="Show what waits to be sent, what was sent, what failed.")
@click.option(
    "--failed",
    "failed_limit",
    type=click.IntRange(0, 1000),
    default=20,
    show_default=True,
    help="How many of the latest failures to list.",
)
def outbox(failed_limit: int) -> None:
    """Show what is waiting to be sent, what was sent, and what failed and why.

    Each `quire serve` process sends what is due by itself; this only looks."""

    async def work(engine: AsyncEngine) -> str:
        await base.up_to_date(engine)
        async with make_sessionmaker(engine)() as session:
            found = await queue.summary(session, failed_limit=failed_limit)
        return report(found)

    base.with_engine(work)


def report(found: queue.Summary) -> str:
    if not found.counts:
        return "the outbox is empty: nothing was ever queued"
    states = [state.value for state in DeliveryState]
    channels = sorted({channel for channel, _ in found.counts})
    lines = [f"{'channel':<12}" + "".join(f"{state:>11}" for state in states)]
    for channel in channels:
        counts = "".join(f"{found.counts[(channel, state)]:>11,}" for state in states)
        lines.append(f"{channel:<12}{counts}")
    if found.next_due is not None:
        wait = found.next_due - utcnow()
        when = "now" if wait.total_seconds() <= 0 else f"in {_span(wait.total_seconds())}"
        lines.append(f"next due: {found.next_due:%Y-%m-%d %H:%M:%S} UTC ({when})")
    if found.failed:
        lines.append("failed, latest first:")
        for row in found.failed:
            whom = f" to subscriber {row.subscriber_id}" if row.subscriber_id else ""
            post = f" of post {row.post_id}" if row.post_id else ""
            lines.append(
                f"  #{row.id} {row.channel} {row.purpose}{post}{whom}, "
                f"{row.attempts} attempt(s): {row.last_error}"
            )
    return "\n".join(lines)


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
