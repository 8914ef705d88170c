"""What Quire sends to others: the durable outbox of deliveries, the email subscribers,
and which posts have been announced on which channel."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from components.models.base import Base, UTCDateTime, stored_enum, utcnow


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Delivery(Base):
    """One thing to send to one recipient: written in the transaction of the change that
    caused it, sent by the outbox worker (components/outbox/)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # The worker's question: what is pending and due, oldest first.
        Index("ix_deliveries_state_due_at", "state", "due_at"),
        # How much one remote server sent or was sent lately (its rate limit).
        Index("ix_deliveries_host_created_at", "host", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Which sender takes it ("mail"), and what for ("post", "confirm").
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The other server (a Webmention's source or target host); "" for mail.
    host: Mapped[str] = mapped_column(String(255), default="", server_default="")
    state: Mapped[DeliveryState] = mapped_column(
        stored_enum(DeliveryState, "delivery_state"), default=DeliveryState.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Claimed by a worker until then; past it, another worker may take it up.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SubscriberState(enum.StrEnum):
    PENDING = "pending"  # asked, not confirmed yet
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"  # the mail server said the address does not exist


class Subscriber(Base):
    """A reader who asked for new posts by email. The address is shown to admins only."""

    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # In lower case: one reader, one row, however they typed it.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    state: Mapped[SubscriberState] = mapped_column(
        stored_enum(SubscriberState, "subscriber_state"), default=SubscriberState.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last confirmation mail queued: another is not sent for a while.
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Announcement(Base):
    """A post announced on a channel: a post taken back to draft and published again is
    not announced twice."""

    __tablename__ = "announcements"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
