"""The site as a whole: the content clock's row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from components.models.base import Base, UTCDateTime, utcnow


class SiteState(Base):
    """One row: the clock of the public content, moved on by every write (components/clock.py)."""

    __tablename__ = "site_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
