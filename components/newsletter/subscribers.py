"""Email subscribers: asked, confirmed (double opt-in), gone, or bounced.

A reader gives an address; a confirmation mail goes to it (an outbox row written in the
same transaction), and only the link in that mail makes them a subscriber. Whatever the
address's state, the reader is told the same thing, so the form never reveals who
subscribes. Confirmation mails to one address are spaced by ASK_AGAIN_AFTER, so the form
cannot be used to flood someone's mailbox.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.listing import PAGE, count_by, page_of
from components.models import Delivery, DeliveryState, Subscriber, SubscriberState, utcnow

CHANNEL = "mail"
ASK_AGAIN_AFTER = timedelta(minutes=10)
MAX_EMAIL = 254


class BadAddress(ValueError):
    """The address cannot be mailed; says why, for the reader."""


def clean_address(typed: str) -> str:
    """The address as Quire keeps it (lower case, IDNA domain), or BadAddress."""
    typed = typed.strip()
    if not typed:
        raise BadAddress("Enter your email address.")
    if len(typed) > MAX_EMAIL:
        raise BadAddress(f"An email address has at most {MAX_EMAIL} characters.")
    try:
        # Only the form of the address: looking its domain up would send traffic out
        # from the request, and the confirmation mail tells whether it exists anyway.
        checked = validate_email(typed, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise BadAddress(f"That is not an email address we can write to: {error}") from None
    return checked.ascii_email.lower() if checked.ascii_email else checked.normalized.lower()


async def ask(session: AsyncSession, typed: str, *, origin: str) -> Subscriber | None:
    """The reader asked to subscribe: queue a confirmation mail unless one went out a
    moment ago or the address is already confirmed. The subscriber row, or None when
    nothing was queued. Raises BadAddress."""
    address = clean_address(typed)
    now = utcnow()
    found = await session.scalar(select(Subscriber).where(Subscriber.email == address))
    if found is None:
        found = Subscriber(email=address, state=SubscriberState.PENDING)
        session.add(found)
    elif found.state is SubscriberState.CONFIRMED or (
        found.asked_at is not None and now - found.asked_at < ASK_AGAIN_AFTER
    ):
        return None
    else:
        # Unsubscribed or bounced before: asked again, confirmed again.
        found.state = SubscriberState.PENDING
    found.asked_at = now
    await session.flush()
    session.add(
        Delivery(
            channel=CHANNEL,
            purpose="confirm",
            subscriber_id=found.id,
            payload={"origin": origin},
            due_at=now,
        )
    )
    await session.flush()
    return found


def _asked_lately(found: Subscriber, now: datetime) -> bool:
    return found.asked_at is not None and now - found.asked_at < ASK_AGAIN_AFTER


async def confirm(session: AsyncSession, subscriber_id: int, email: str) -> Subscriber | None:
    """The link in the confirmation mail was followed: the subscriber, now confirmed; None
    when the address is no longer ours to confirm (removed since)."""
    found = await _matching(session, subscriber_id, email)
    if found is None or found.state in (SubscriberState.UNSUBSCRIBED, SubscriberState.BOUNCED):
        # An old link does not bring back an address that left (or bounced) since.
        return None
    if found.state is not SubscriberState.CONFIRMED:
        found.state = SubscriberState.CONFIRMED
        found.confirmed_at = utcnow()
        found.left_at = None
    await session.flush()
    return found


async def leave(session: AsyncSession, subscriber_id: int, email: str) -> bool:
    """Unsubscribe (from a mail's link or its one-click header); whether there was a
    subscription to end. Mails queued for the address are cancelled with it."""
    found = await _matching(session, subscriber_id, email)
    if found is None or found.state in (SubscriberState.UNSUBSCRIBED, SubscriberState.BOUNCED):
        return False
    found.state = SubscriberState.UNSUBSCRIBED
    found.left_at = utcnow()
    await _cancel_pending(session, found.id)
    await session.flush()
    return True


async def bounced(session: AsyncSession, subscriber_id: int) -> None:
    """The mail server said the address does not exist: no more mail to it."""
    found = await session.get(Subscriber, subscriber_id)
    if found is not None and found.state is not SubscriberState.BOUNCED:
        found.state = SubscriberState.BOUNCED
        found.left_at = utcnow()
        await session.flush()


async def remove(session: AsyncSession, subscriber_id: int) -> Subscriber | None:
    """An admin removed the address: the row and its queued mails are gone."""
    found = await session.get(Subscriber, subscriber_id)
    if found is not None:
        await session.delete(found)  # its deliveries go with it (ON DELETE CASCADE)
        await session.flush()
    return found


async def _matching(session: AsyncSession, subscriber_id: int, email: str) -> Subscriber | None:
    # The link names the address too: one made for a removed row that a new subscriber
    # later got the id of does nothing.
    found = await session.get(Subscriber, subscriber_id)
    return found if found is not None and found.email == email else None


async def _cancel_pending(session: AsyncSession, subscriber_id: int) -> None:
    await session.execute(
        delete(Delivery).where(
            Delivery.subscriber_id == subscriber_id,
            Delivery.state == DeliveryState.PENDING,
            Delivery.leased_until.is_(None),
        )
    )


@dataclass(frozen=True)
class Listing:
    """The admin's page of subscribers."""

    counts: dict[SubscriberState, int]
    subscribers: Sequence[Subscriber]
    page: int
    pages: int


async def listing(
    session: AsyncSession, *, page: int = 1, state: SubscriberState | None = None
) -> Listing:
    """A page of subscribers, newest first, and how many there are in each state."""
    counts = await count_by(session, Subscriber.state, SubscriberState)
    total = counts[state] if state is not None else sum(counts.values())
    page, pages = page_of(page, total)
    query = select(Subscriber).order_by(Subscriber.created_at.desc(), Subscriber.id.desc())
    if state is not None:
        query = query.where(Subscriber.state == state)
    found = await session.scalars(query.offset((page - 1) * PAGE).limit(PAGE))
    return Listing(counts, found.all(), page, pages)


async def as_csv(session: AsyncSession) -> str:
    """Every subscriber as CSV (address, state, dates), oldest first, for an admin."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["email", "state", "subscribed_at", "confirmed_at", "left_at"])
    found = await session.stream_scalars(select(Subscriber).order_by(Subscriber.id))
    async for subscriber in found:
        writer.writerow(
            [
                _no_formula(subscriber.email),
                subscriber.state.value,
                _iso(subscriber.created_at),
                _iso(subscriber.confirmed_at),
                _iso(subscriber.left_at),
            ]
        )
    return out.getvalue()


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment is not None else ""


def _no_formula(value: str) -> str:
    # A cell a spreadsheet would run as a formula is written as text.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value
