"""What readers see of a writer beyond the name: a short bio, links and an avatar.

A table of its own, not columns of `users`: the avatar is a media row, and media rows
already point at users (their owner), so a column on `users` would make the two tables
depend on each other.
"""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from components.models.base import Base
from components.models.media import Media


class AuthorProfile(Base):
    __tablename__ = "author_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    bio: Mapped[str] = mapped_column(String(500), default="")
    # The writer's pages elsewhere, in their order: shown with rel="me", so that a
    # Mastodon profile linking back here shows as verified.
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    avatar_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))

    avatar: Mapped[Media | None] = relationship(lazy="raise")
