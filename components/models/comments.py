"""Readers' comments and the log of what happened to them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from components.models.base import Base, UTCDateTime, stored_enum, utcnow
from components.models.people import User
from components.models.posts import Post


class CommentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SPAM = "spam"


class CommentKind(enum.StrEnum):
    COMMENT = "comment"  # written in the form
    MENTION = "mention"  # a Webmention, or a reply from the fediverse: elsewhere, about the post
    LIKE = "like"  # a like (Webmention or fediverse): counted, not shown as a comment
    REPOST = "repost"


# The kinds a post's thread shows and counts as comments.
SHOWN_KINDS = (CommentKind.COMMENT, CommentKind.MENTION)


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        # A post's shown comments in order (its page, its feed) and their count. With the
        # order in the index, SQLite (which keeps no statistics) has no reason to walk
        # every approved comment by ix_comments_status_created_at instead.
        Index("ix_comments_post_id_status_created_at", "post_id", "status", "created_at", "id"),
        # The per-address limit counts an address's recent comments.
        Index("ix_comments_ip_created_at", "ip", "created_at"),
        # The moderation queue, newest first within each status.
        Index("ix_comments_status_created_at", "status", "created_at"),
        # Is this browser's commenter known (approved before)? By both columns, or SQLite,
        # which keeps no statistics, walks every approved comment by the status index. Only
        # readers' comments have a commenter: the rest ("") stay out, and a generic plan on
        # PostgreSQL, which takes "" for a typical value, still finds this index.
        Index(
            "ix_comments_known_commenters",
            "commenter",
            "status",
            sqlite_where=text("commenter <> ''"),
            postgresql_where=text("commenter <> ''"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    # Replies are one level deep: a reply's parent is always a top-level comment.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    author_name: Mapped[str] = mapped_column(String(100))
    author_url: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    status: Mapped[CommentStatus] = mapped_column(
        stored_enum(CommentStatus, "comment_status"), default=CommentStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where it came from, for the per-address limit and for spotting duplicates.
    ip: Mapped[str] = mapped_column(String(45), default="")
    # SHA-256 of the commenter's browser token: a commenter once approved is known again.
    commenter: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[CommentKind] = mapped_column(
        stored_enum(CommentKind, "comment_kind"),
        default=CommentKind.COMMENT,
        server_default=CommentKind.COMMENT.value,
    )
    # The page a Webmention came from, or the fediverse activity or note's id ("" for the
    # form's comments).
    source_url: Mapped[str] = mapped_column(String(2000), default="", server_default="")
    # The avatar of a reply from the fediverse (an https address on its server), or "".
    author_avatar: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # The comment's id in the WordPress export it came from (None for any other): a
    # reply imported later finds its parent by it, within the same post.
    wordpress_id: Mapped[int | None] = mapped_column(BigInteger)

    post: Mapped[Post] = relationship(lazy="raise")
    author: Mapped[User | None] = relationship(lazy="raise")
    parent: Mapped[Comment | None] = relationship(
        remote_side="Comment.id", back_populates="replies", lazy="raise"
    )
    replies: Mapped[list[Comment]] = relationship(
        back_populates="parent", lazy="raise", passive_deletes=True
    )


class CommentEventKind(enum.StrEnum):
    RECEIVED = "received"  # a new comment waits for moderation
    PUBLISHED = "published"  # readers can see it now
    WITHDRAWN = "withdrawn"  # readers no longer see it (spam, deleted, unapproved)


class CommentEvent(Base):
    """What happened to comments, in commit order: live pages follow this log.

    Its id is the event id of the comment streams, so a browser that reconnects with
    Last-Event-ID is sent exactly what it missed. Ids follow commit order because each
    event is written after the content clock's row lock is taken (components/clock.py).
    """

    __tablename__ = "comment_events"
    __table_args__ = (Index("ix_comment_events_post_id_id", "post_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    # No foreign key: the event of a deleted comment outlives it.
    comment_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[CommentEventKind] = mapped_column(
        stored_enum(CommentEventKind, "comment_event_kind")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
