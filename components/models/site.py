"""The site as a whole: the content clock's row and the settings admins keep."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from components.models.base import Base, UTCDateTime, utcnow


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
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
