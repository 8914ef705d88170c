"""The site as a whole: the content clock's row and the settings admins keep (with the
logo and icon they uploaded)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from components.models.base import Base, UTCDateTime, utcnow
from components.models.media import Media


class SiteState(Base):
    """One row: the clock of the public content, moved on by every write (components/clock.py)."""

    __tablename__ = "site_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SiteSettings(Base):
    """One row: what an admin set on /admin/settings (components/site.py reads it)."""

    __tablename__ = "site_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100), default="Quire")
    description: Mapped[str] = mapped_column(String(300), default="")
    language: Mapped[str] = mapped_column(String(35), default="en")
    base_url: Mapped[str] = mapped_column(String(300), default="")
    footer: Mapped[str] = mapped_column(String(200), default="")
    comments_default: Mapped[bool] = mapped_column(default=True)
    # Whose name posts without an author carry (imported without --author); none: the
    # first admin's.
    default_author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The header's menu: [{"label": ..., "url": ...}, ...] in order; empty for the default.
    menu: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list, server_default="[]")
    # Uploaded through the media library, so served under hashed, immutable names.
    logo_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))
    favicon_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))

    # What a new post's mail to subscribers carries: "excerpt" or "whole".
    newsletter: Mapped[str] = mapped_column(String(16), default="excerpt", server_default="excerpt")
    # New followers on the fediverse: "auto" (accepted at once) or "manual" (an admin's).
    followers: Mapped[str] = mapped_column(String(16), default="auto", server_default="auto")

    logo: Mapped[Media | None] = relationship(foreign_keys=[logo_id], lazy="raise")
    favicon: Mapped[Media | None] = relationship(foreign_keys=[favicon_id], lazy="raise")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
