"""Posts, their tags, revisions and former addresses."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from components.models.base import Base, UTCDateTime, stored_enum, utcnow
from components.models.people import User


class PostKind(enum.StrEnum):
    """A post is dated and listed; a page (About, Now, Uses) stands alone at /<slug>."""

    POST = "post"
    PAGE = "page"


class PostStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"


post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str] = mapped_column(String(64), unique=True)

    posts: Mapped[list[Post]] = relationship(
        secondary=post_tags, back_populates="tags", lazy="raise"
    )


class Series(Base):
    """Posts that are the parts of one story, in the order they were published."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(200), unique=True)


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        # The public lists and their keyset pagination: newest first, ties broken by id.
        # (No index leads with status: SQLite would pick it and sort every visible post.)
        Index("ix_posts_published_at_id", "published_at", "id"),
        # The writers' list: the most recently changed first, the first 200 read off it.
        Index("ix_posts_updated_at_id", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    # Derived from `body` when the post is saved, never per request.
    body_html: Mapped[str] = mapped_column(Text, default="")
    # What a reader reads of body_html, as plain text (components/plain_text), made with
    # it: the full-text index covers it and search snippets quote it, never the Markdown.
    # Read by the databases only, so never loaded.
    body_text: Mapped[str] = mapped_column(
        Text, default="", server_default="", deferred=True, deferred_raiseload=True
    )
    excerpt: Mapped[str] = mapped_column(Text, default="")
    reading_minutes: Mapped[int] = mapped_column(Integer, default=1)
    # The table of contents: [{"level": 2, "id": "anchor", "text": "Heading"}, ...].
    toc: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Which rendering made body_html (components/markdown.VERSION): older ones are
    # rendered again by `quire render` (and `quire db upgrade`).
    render_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Front matter keys an imported file had that Quire does not use (`layout`, `image`,
    # ...), in their order, so that an export writes them back: nothing is lost in transit.
    front_matter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # An imported file's front matter exactly as written (with its delimiters), and a
    # print of the post as it came in: an export of a post not edited since writes the
    # same front matter back (components/kept_matter). Read only by import and export.
    source_head: Mapped[str | None] = mapped_column(Text, deferred=True, deferred_raiseload=True)
    source_print: Mapped[str | None] = mapped_column(
        String(64), deferred=True, deferred_raiseload=True
    )
    # The tag names joined by spaces, so that the full-text index sees the tags in the row.
    tag_names: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[PostStatus] = mapped_column(
        stored_enum(PostStatus, "post_status"), default=PostStatus.DRAFT
    )
    kind: Mapped[PostKind] = mapped_column(
        stored_enum(PostKind, "post_kind"), default=PostKind.POST, server_default="post"
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    comments_enabled: Mapped[bool] = mapped_column(default=False)
    share_enabled: Mapped[bool] = mapped_column(default=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("series.id", ondelete="SET NULL"), index=True
    )
    # Moved on by every save: a save made from an older version is a conflict, not an overwrite.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The editor (one open editing page) that saved last: its own queued saves never conflict.
    last_editor: Mapped[str] = mapped_column(String(64), default="", index=True)

    author: Mapped[User | None] = relationship(lazy="raise")
    series: Mapped[Series | None] = relationship(lazy="raise")
    tags: Mapped[list[Tag]] = relationship(
        secondary=post_tags, back_populates="posts", lazy="raise", order_by=Tag.name
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    @property
    def in_reply_to_as_written(self) -> str:
        """Front matter `in_reply_to` (as IndieWeb themes write it), whatever it holds."""
        value = (self.front_matter or {}).get(REPLY_KEY)
        return value if isinstance(value, str) else ""

    @property
    def in_reply_to(self) -> str:
        """The address of the post this one answers, if it is a web address; else ""."""
        value = self.in_reply_to_as_written.strip()
        return value if is_web_address(value) else ""


# The front matter key that makes a post a reply.
REPLY_KEY = "in_reply_to"
MAX_ADDRESS = 2000


def is_web_address(text: str) -> bool:
    """An absolute http(s) address with a host, short enough to store and send."""
    text = text.strip()
    if not text or len(text) > MAX_ADDRESS or any(char.isspace() for char in text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class RevisionKind(enum.StrEnum):
    SAVE = "save"
    AUTOSAVE = "autosave"
    RESTORE = "restore"


class Revision(Base):
    """The text of a post as one save left it: nothing an author writes is ever lost."""

    __tablename__ = "revisions"
    __table_args__ = (Index("ix_revisions_post_id_id", "post_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[RevisionKind] = mapped_column(
        stored_enum(RevisionKind, "revision_kind"), default=RevisionKind.SAVE
    )
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship(lazy="raise")


class Redirect(Base):
    """A former address of a post (an old slug, a Jekyll permalink, a Hugo alias): 301 to it."""

    __tablename__ = "redirects"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(500), unique=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    post: Mapped[Post] = relationship(lazy="raise")
