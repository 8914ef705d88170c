"""The blog's tables as typed SQLAlchemy models.

Every relationship is `lazy="raise"`: a page that forgets to load what it shows
fails loudly in tests instead of issuing one query per row in production.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Column,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite stores no zone, so values are normalised to UTC on the way in and
    marked as UTC on the way out; PostgreSQL keeps `timestamptz` as usual.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Quire stores timezone-aware UTC timestamps only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


# Constraint names are fixed so that migrations are identical on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as the value in a VARCHAR with a CHECK, the same on SQLite and PostgreSQL.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [m.value for m in members],
    )


class Role(enum.StrEnum):
    ADMIN = "admin"
    AUTHOR = "author"


class PostStatus(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"


class CommentStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SPAM = "spam"


post_tags = Table(
    "post_tags",
    Base.metadata,
    Column("post_id", ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"), default=Role.AUTHOR)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # An IANA zone name: the editor shows and takes dates in it, the database keeps UTC.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Two-factor authentication is on when a TOTP secret is set.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # The last TOTP time step accepted, so that a code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    posts: Mapped[list[Post]] = relationship(back_populates="author", lazy="raise")

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class AuthSession(Base):
    """A signed-in browser. The cookie holds the token; only its SHA-256 is stored here,
    so that deleting the row signs the browser out (logout, password change)."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    remember: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship(lazy="raise")


class RecoveryCode(Base):
    """A one-time code that stands in for a TOTP code when the phone is lost (hashed)."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginFailure(Base):
    """A failed sign-in, kept for the rate limit window. In the database, not in memory,
    so that every worker and every app instance counts the same failures."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    ip: Mapped[str] = mapped_column(String(45), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str] = mapped_column(String(64), unique=True)

    posts: Mapped[list[Post]] = relationship(
        secondary=post_tags, back_populates="tags", lazy="raise"
    )


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
    excerpt: Mapped[str] = mapped_column(Text, default="")
    reading_minutes: Mapped[int] = mapped_column(Integer, default=1)
    # The table of contents: [{"level": 2, "id": "anchor", "text": "Heading"}, ...].
    toc: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Front matter keys an imported file had that Quire does not use (`layout`, `image`,
    # ...), in their order, so that an export writes them back: nothing is lost in transit.
    front_matter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The tag names joined by spaces, so that the full-text index sees the tags in the row.
    tag_names: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[PostStatus] = mapped_column(
        _enum(PostStatus, "post_status"), default=PostStatus.DRAFT
    )
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    comments_enabled: Mapped[bool] = mapped_column(default=False)
    share_enabled: Mapped[bool] = mapped_column(default=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # Moved on by every save: a save made from an older version is a conflict, not an overwrite.
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The editor (one open editing page) that saved last: its own queued saves never conflict.
    last_editor: Mapped[str] = mapped_column(String(64), default="", index=True)

    author: Mapped[User | None] = relationship(back_populates="posts", lazy="raise")
    tags: Mapped[list[Tag]] = relationship(
        secondary=post_tags, back_populates="posts", lazy="raise", order_by=Tag.name
    )
    comments: Mapped[list[Comment]] = relationship(
        back_populates="post", lazy="raise", passive_deletes=True
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


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
        _enum(RevisionKind, "revision_kind"), default=RevisionKind.SAVE
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
        _enum(CommentStatus, "comment_status"), default=CommentStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where it came from, for the per-address limit and for spotting duplicates.
    ip: Mapped[str] = mapped_column(String(45), default="")
    # SHA-256 of the commenter's browser token: a commenter once approved is known again.
    commenter: Mapped[str] = mapped_column(String(64), default="")

    post: Mapped[Post] = relationship(back_populates="comments", lazy="raise")
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
    kind: Mapped[CommentEventKind] = mapped_column(_enum(CommentEventKind, "comment_event_kind"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SiteState(Base):
    """One row: the clock of the public content, moved on by every write (components/clock.py)."""

    __tablename__ = "site_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


# Full-text search lives beside the models but outside them, because each database
# does it its own way. SQLite: an FTS5 index over the posts table kept current by
# triggers. PostgreSQL: a stored, weighted tsvector column with a GIN index. Both
# follow every insert, update and delete of a post by themselves.
SEARCH_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": (
        "CREATE VIRTUAL TABLE posts_fts USING fts5("
        "title, description, body, tag_names, content='posts', content_rowid='id', "
        "tokenize='porter unicode61 remove_diacritics 2')",
        "CREATE TRIGGER posts_fts_insert AFTER INSERT ON posts BEGIN "
        "INSERT INTO posts_fts(rowid, title, description, body, tag_names) "
        "VALUES (new.id, new.title, new.description, new.body, new.tag_names); END",
        "CREATE TRIGGER posts_fts_delete AFTER DELETE ON posts BEGIN "
        "INSERT INTO posts_fts(posts_fts, rowid, title, description, body, tag_names) "
        "VALUES ('delete', old.id, old.title, old.description, old.body, old.tag_names); END",
        "CREATE TRIGGER posts_fts_update AFTER UPDATE OF title, description, body, tag_names "
        "ON posts BEGIN "
        "INSERT INTO posts_fts(posts_fts, rowid, title, description, body, tag_names) "
        "VALUES ('delete', old.id, old.title, old.description, old.body, old.tag_names); "
        "INSERT INTO posts_fts(rowid, title, description, body, tag_names) "
        "VALUES (new.id, new.title, new.description, new.body, new.tag_names); END",
    ),
    "postgresql": (
        # A tsvector is limited to 1 MB, so only the first 300,000 characters of a body count.
        "ALTER TABLE posts ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
        "setweight(to_tsvector('english', title), 'A') || "
        "setweight(to_tsvector('english', tag_names), 'A') || "
        "setweight(to_tsvector('english', description), 'B') || "
        "setweight(to_tsvector('english', left(body, 300000)), 'C')) STORED",
        "CREATE INDEX ix_posts_search_vector ON posts USING gin (search_vector)",
    ),
}
SEARCH_DROP_DDL: dict[str, tuple[str, ...]] = {
    "sqlite": ("DROP TABLE IF EXISTS posts_fts",),
    "postgresql": (),
}

for _dialect, _statements in SEARCH_DDL.items():
    for _statement in _statements:
        event.listen(Post.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))
for _dialect, _statements in SEARCH_DROP_DDL.items():
    for _statement in _statements:
        event.listen(Post.__table__, "after_drop", DDL(_statement).execute_if(dialect=_dialect))


def is_modelled(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's filter: leave the search objects above out of schema comparisons."""
    if type_ == "table" and name is not None and name.startswith("posts_fts"):
        return False
    return not (name in {"search_vector", "ix_posts_search_vector"} and reflected)
