"""ActivityPub: this site's actors (the blog and each author) with their keys, the
fediverse accounts that follow them and those they follow, the remote actors we have
read, and the signed requests already taken (so that one sent again is refused)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from components.models.base import Base, UTCDateTime, stored_enum, utcnow


class LocalActor(Base):
    """One of this site's actors: the blog itself (no user) or an author. The key pair
    is made the first time the actor is needed."""

    __tablename__ = "ap_actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for the blog's own actor.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    # The name before the @ in WebFinger: "blog", or the author's slug.
    username: Mapped[str] = mapped_column(String(100), unique=True)
    private_pem: Mapped[str] = mapped_column(Text)
    public_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RemoteActor(Base):
    """An account on another server, as its actor document said when last read: its key
    checks the requests it signs, its inboxes receive what we send."""

    __tablename__ = "ap_remote_actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    uri: Mapped[str] = mapped_column(String(2000), unique=True)
    key_id: Mapped[str] = mapped_column(String(2000), default="")
    public_pem: Mapped[str] = mapped_column(Text, default="")
    inbox: Mapped[str] = mapped_column(String(2000))
    shared_inbox: Mapped[str] = mapped_column(String(2000), default="")
    # "@name@host", for the admins' list.
    handle: Mapped[str] = mapped_column(String(300), default="")
    name: Mapped[str] = mapped_column(String(100), default="")
    # The profile page people open, and the avatar (https only).
    url: Mapped[str] = mapped_column(String(2000), default="")
    icon: Mapped[str] = mapped_column(String(2000), default="")
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def delivery_inbox(self) -> str:
        """Where our activities go: the server's shared inbox, when it has one."""
        return self.shared_inbox or self.inbox


class FollowerState(enum.StrEnum):
    PENDING = "pending"  # waits for an admin (the site holds new followers for approval)
    ACCEPTED = "accepted"


class Follower(Base):
    __tablename__ = "ap_followers"
    __table_args__ = (UniqueConstraint("actor_id", "remote_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("ap_actors.id", ondelete="CASCADE"))
    remote_id: Mapped[int] = mapped_column(
        ForeignKey("ap_remote_actors.id", ondelete="CASCADE"), index=True
    )
    # The Follow activity's id: our Accept (or Reject) names it.
    follow_id: Mapped[str] = mapped_column(String(2000))
    state: Mapped[FollowerState] = mapped_column(
        stored_enum(FollowerState, "follower_state"), default=FollowerState.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actor: Mapped[LocalActor] = relationship(lazy="raise")
    remote: Mapped[RemoteActor] = relationship(lazy="raise")


class FollowingState(enum.StrEnum):
    ASKED = "asked"  # our Follow is sent, or on its way; no answer yet
    ACCEPTED = "accepted"
    REFUSED = "refused"  # they said no (or, later, removed us)


class Following(Base):
    """An account on another server that one of our actors follows (or asked to)."""

    __tablename__ = "ap_following"
    __table_args__ = (UniqueConstraint("actor_id", "remote_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("ap_actors.id", ondelete="CASCADE"))
    remote_id: Mapped[int] = mapped_column(
        ForeignKey("ap_remote_actors.id", ondelete="CASCADE"), index=True
    )
    # Our Follow activity's id, which their Accept or Reject names.
    follow_id: Mapped[str] = mapped_column(String(2000), unique=True)
    state: Mapped[FollowingState] = mapped_column(
        stored_enum(FollowingState, "following_state"), default=FollowingState.ASKED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actor: Mapped[LocalActor] = relationship(lazy="raise")
    remote: Mapped[RemoteActor] = relationship(lazy="raise")


class SeenRequest(Base):
    """A signed request taken: the same signature again is a replay. Kept as long as its
    Date would still be believed, and counted per server for the rate limit."""

    __tablename__ = "ap_seen"
    __table_args__ = (Index("ix_ap_seen_host_at", "host", "at"),)

    # SHA-256 of the Signature header.
    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
