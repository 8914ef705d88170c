"""Private preview links: a draft (or a scheduled post, or a page) shown to whoever holds
the link, until it expires or is revoked. Only a SHA-256 hash of each link's token is
stored, so a copy of the database opens no preview."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from components.models.base import Base, UTCDateTime, utcnow
from components.models.posts import Post


class PreviewLink(Base):
    __tablename__ = "preview_links"
    # The editor lists a post's links, newest first.
    __table_args__ = (Index("ix_preview_links_post_id_created_at", "post_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Deleting the post deletes its links.
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    # hashlib.sha256(token).hexdigest(): the token itself is shown once, then forgotten.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    post: Mapped[Post] = relationship(lazy="raise")
