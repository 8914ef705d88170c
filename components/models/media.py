"""Uploaded files and the smaller copies of images."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from components.models.base import Base, UTCDateTime, utcnow
from components.models.people import User


class Media(Base):
    """An uploaded file, kept in the database so that it survives an ephemeral PaaS disk."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    alt_text: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The bytes are only read when the file itself is served.
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary), raiseload=True)

    owner: Mapped[User | None] = relationship(lazy="raise")
    variants: Mapped[list[MediaVariant]] = relationship(
        back_populates="media",
        lazy="raise",
        passive_deletes=True,
        order_by="MediaVariant.width",
    )


class MediaVariant(Base):
    """A smaller copy of an image for `srcset`, addressed like its original by content hash."""

    __tablename__ = "media_variants"

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary), raiseload=True)

    media: Mapped[Media] = relationship(back_populates="variants", lazy="raise")
