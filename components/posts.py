"""Posts: what the public may see, and how they are listed (saving.py writes them)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, load_only, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from components.models import (
    SHOWN_KINDS,
    Comment,
    CommentEvent,
    CommentStatus,
    Post,
    PostKind,
    PostStatus,
    Redirect,
    Series,
    Tag,
    User,
    post_tags,
    utcnow,
)


def is_visible(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """Published posts, and scheduled ones whose time has come (`now`: a time, or a bound
    parameter that stands for one in a statement built once)."""
    return and_(
        Post.status.in_((PostStatus.PUBLISHED, PostStatus.SCHEDULED)),
        Post.published_at <= now,
    )


def is_listed(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    """Visible posts that lists, feeds, tags and search show: not pages."""
    return and_(is_visible(now), Post.kind == PostKind.POST)


def is_public(post: Post) -> bool:
    """Whether readers can see the post now (published, or scheduled and due)."""
    return post_status_label(post) == "published"


def post_status_label(post: Post) -> str:
    """What the admin list calls a post: draft, scheduled or published."""
    return status_label(post.status, post.published_at)


def status_label(status: PostStatus, published_at: datetime | None) -> str:
    """Draft, scheduled or published: what readers see of a status and a time."""
    if status is PostStatus.DRAFT:
        return "draft"
    visible = published_at is not None and published_at <= utcnow()
    return "published" if visible else "scheduled"


@dataclass(frozen=True)
class Cursor:
    """Where a page of posts ends: keyset pagination on (published_at, id), never OFFSET."""

    published_at: datetime
    id: int

    _FORMAT = "%Y%m%dT%H%M%S.%fZ"
    _PATTERN = re.compile(r"(\d{8}T\d{6}\.\d{6}Z)-(\d{1,10})")
    # Post ids are 32-bit integers: PostgreSQL refuses a larger one in the query (a 500).
    _MAX_ID = 2**31 - 1

    def __str__(self) -> str:
        return f"{self.published_at.astimezone(UTC):{self._FORMAT}}-{self.id}"

    @classmethod
    def parse(cls, text: str) -> Cursor | None:
        """The cursor in a `?before=` value, or None when it is not one."""
        match = cls._PATTERN.fullmatch(text)
        if match is None:
            return None
        try:
            moment = datetime.strptime(match[1], cls._FORMAT).replace(tzinfo=UTC)
        except ValueError:
            return None
        post_id = int(match[2])
        if post_id > cls._MAX_ID:
            return None
        return cls(moment, post_id)


@dataclass(frozen=True)
class PostPage:
    """One page of a list of posts, with what the cards show beside each post."""

    posts: Sequence[Post]
    comment_counts: dict[int, int]
    next: Cursor | None


def _approved(kinds: ColumnElement[bool]) -> ColumnElement[int]:
    """How many of the post's comments of `kinds` are approved."""
    return (
        select(func.count(Comment.id))
        .where(Comment.post_id == Post.id, Comment.status == CommentStatus.APPROVED, kinds)
        .correlate(Post)
        .scalar_subquery()
    )


def _approved_comments() -> ColumnElement[int]:
    return _approved(Comment.kind.in_(SHOWN_KINDS))


def _approved_reactions() -> ColumnElement[int]:
    """Likes and reposts that came by Webmention and were approved."""
    return _approved(Comment.kind.not_in(SHOWN_KINDS))


def _last_comment_event() -> ColumnElement[int | None]:
    return (
        select(func.max(CommentEvent.id))
        .where(CommentEvent.post_id == Post.id)
        .correlate(Post)
        .scalar_subquery()
    )


def _older_than(published_at: datetime, post_id: int) -> ColumnElement[bool]:
    # Spelled out rather than as a row value, so that both databases bound the index range.
    return and_(
        Post.published_at <= published_at,
        or_(Post.published_at < published_at, Post.id < post_id),
    )


def _newer_than(published_at: datetime, post_id: int) -> ColumnElement[bool]:
    return and_(
        Post.published_at >= published_at,
        or_(Post.published_at > published_at, Post.id > post_id),
    )


def _tagged(tag: Tag) -> ColumnElement[bool]:
    return Post.id.in_(select(post_tags.c.post_id).where(post_tags.c.tag_id == tag.id))


def _newest_first(query: Select) -> Select:
    return query.where(is_listed(utcnow())).order_by(Post.published_at.desc(), Post.id.desc())


def _byline() -> LoaderOption:
    """A post's author as its byline needs them, in the post's own statement."""
    return joinedload(Post.author).load_only(User.name, User.slug, raiseload=True)


def _series_name() -> LoaderOption:
    """A post's series as a card or the API names it, in the post's own statement."""
    return joinedload(Post.series).load_only(Series.name, Series.slug, raiseload=True)


async def page(
    session: AsyncSession,
    *,
    limit: int,
    before: Cursor | None = None,
    tag: Tag | None = None,
    where: ColumnElement[bool] | None = None,
    oldest_first: bool = False,
) -> PostPage:
    """A page of visible posts, newest first (or oldest first, as a series reads, without
    `before`), optionally of one tag or matching `where` (an author's): two statements."""
    # A card shows little of a post: leave the bodies in the database.
    card = load_only(
        Post.title,
        Post.slug,
        Post.description,
        Post.excerpt,
        Post.reading_minutes,
        Post.published_at,
        Post.updated_at,
        Post.author_id,
        Post.series_id,
        raiseload=True,
    )
    query = _newest_first(select(Post, _approved_comments())).options(
        card, selectinload(Post.tags), _byline(), _series_name()
    )
    if oldest_first:
        assert before is None, "an oldest-first list is one page"
        query = query.order_by(None).order_by(Post.published_at, Post.id)
    if before is not None:
        query = query.where(_older_than(before.published_at, before.id))
    if tag is not None:
        query = query.where(_tagged(tag))
    if where is not None:
        query = query.where(where)
    rows = (await session.execute(query.limit(limit + 1))).all()
    shown = rows[:limit]
    last: Post | None = shown[-1][0] if len(rows) > limit else None
    return PostPage(
        posts=[post for post, _ in shown],
        comment_counts={post.id: comments for post, comments in shown},
        next=Cursor(last.published_at, last.id) if last and last.published_at else None,
    )


@dataclass(frozen=True)
class Reading:
    """A post as its page shows it: with its comment count and its neighbours."""

    post: Post
    comment_count: int
    older: Post | None
    newer: Post | None
    # The newest comment event of the post: where its live stream takes up (web/streams).
    last_event: int = 0
    # Approved likes and reposts (by Webmention), listed apart from the comments.
    reaction_count: int = 0


async def find_visible(session: AsyncSession, slug: str) -> Reading | None:
    """The visible post with this slug (with its series) and its neighbours in time: four
    statements."""
    query = (
        select(Post, _approved_comments(), _last_comment_event(), _approved_reactions())
        .where(Post.slug == slug, is_listed(utcnow()))
        .options(selectinload(Post.tags), _byline(), joinedload(Post.series))
    )
    row = (await session.execute(query)).first()
    if row is None:
        return None
    post, comments, last_event, reaction_count = row
    assert post.published_at is not None, "visible posts have a publication time"
    brief = load_only(Post.title, Post.slug, Post.published_at)
    older = await session.scalar(
        _newest_first(select(Post))
        .where(_older_than(post.published_at, post.id))
        .options(brief)
        .limit(1)
    )
    newer = await session.scalar(
        select(Post)
        .where(is_listed(utcnow()), _newer_than(post.published_at, post.id))
        .order_by(Post.published_at, Post.id)
        .options(brief)
        .limit(1)
    )
    return Reading(post, comments, older, newer, last_event or 0, reaction_count or 0)


async def find_page(session: AsyncSession, slug: str) -> Post | None:
    """The published page at /<slug>: one statement."""
    return await session.scalar(
        select(Post).where(Post.slug == slug, Post.kind == PostKind.PAGE, is_visible(utcnow()))
    )


async def for_api(session: AsyncSession, slug: str) -> tuple[Post, int] | None:
    """The visible post with this slug in full, its tags and its approved comment count,
    without the neighbours a page links to: two statements."""
    query = (
        select(Post, _approved_comments())
        .where(Post.slug == slug, is_listed(utcnow()))
        .options(selectinload(Post.tags), _byline(), _series_name())
    )
    row = (await session.execute(query)).first()
    return None if row is None else (row[0], row[1])


async def latest_articles(
    session: AsyncSession, *, author_id: int | None, limit: int
) -> tuple[list[Post], int]:
    """The newest visible posts (an author's, or all) with their tags, and how many
    there are: an actor's outbox. Three statements."""
    where = [is_listed(utcnow())]
    if author_id is not None:
        where.append(Post.author_id == author_id)
    found = await session.scalars(
        select(Post)
        .where(*where)
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(limit)
        .options(selectinload(Post.tags))
    )
    total = await session.scalar(select(func.count(Post.id)).where(*where))
    return list(found), total or 0


async def as_article(session: AsyncSession, slug: str, *, page: bool) -> Post | None:
    """The visible post (or page) with this slug in full, with its tags: what the
    fediverse is shown of it. One statement, and one for the tags."""
    kind = PostKind.PAGE if page else PostKind.POST
    return await session.scalar(
        select(Post)
        .where(Post.slug == slug, Post.kind == kind, is_visible(utcnow()))
        .options(selectinload(Post.tags))
    )


async def visible_post(session: AsyncSession, slug: str) -> Post | None:
    """The visible post with this slug, without its body: what its comments need to know."""
    query = select(Post).where(Post.slug == slug, is_listed(utcnow()))
    brief = load_only(
        Post.title,
        Post.slug,
        Post.published_at,
        Post.status,
        Post.comments_enabled,
        Post.author_id,
        Post.updated_at,
        raiseload=True,
    )
    return await session.scalar(query.options(brief))


async def moved_to(session: AsyncSession, path: str) -> Post | None:
    """The visible post that a former address (old slug, permalink, alias) now points to,
    or the post or page whose slug is the one segment of `path` (/about/, /about.html,
    or /hello for a post: the short form imported links to other posts take).

    Jekyll's `.html` suffix and a trailing slash are forgiven.
    """
    stem = path.removesuffix(".html").rstrip("/") or "/"
    candidates = {path, stem, f"{stem}/", f"{stem}.html"}
    former = select(Redirect.post_id).where(Redirect.path.in_(candidates))
    found: ColumnElement[bool] = Post.id.in_(former)
    if stem.count("/") == 1:
        found = or_(found, Post.slug == stem[1:])
    query = (
        select(Post)
        .where(found, is_visible(utcnow()))
        .limit(1)
        .options(load_only(Post.slug, Post.published_at, Post.kind))
    )
    return await session.scalar(query)


async def for_feed(
    session: AsyncSession,
    *,
    limit: int,
    tag: Tag | None = None,
    where: ColumnElement[bool] | None = None,
) -> Sequence[Post]:
    """The newest visible posts in full, with their tags and authors, for an Atom feed."""
    query = _newest_first(select(Post)).options(selectinload(Post.tags), _byline()).limit(limit)
    if tag is not None:
        query = query.where(_tagged(tag))
    if where is not None:
        query = query.where(where)
    return (await session.scalars(query)).all()


# A sitemap file may list at most 50,000 addresses.
SITEMAP_LIMIT = 50_000


async def for_sitemap(session: AsyncSession) -> tuple[Sequence[Post], Sequence[Tag]]:
    """The newest visible posts and pages (addresses and dates only) and the tags in use."""
    listed = await session.scalars(
        select(Post)
        .where(is_visible(utcnow()))
        .order_by(Post.published_at.desc(), Post.id.desc())
        .options(
            load_only(Post.slug, Post.published_at, Post.updated_at, Post.kind, raiseload=True)
        )
        .limit(SITEMAP_LIMIT)
    )
    tags = await session.scalars(
        select(Tag)
        .where(
            Tag.id.in_(
                select(post_tags.c.tag_id)
                .join(Post, Post.id == post_tags.c.post_id)
                .where(is_listed(utcnow()))
            )
        )
        .order_by(Tag.slug)
    )
    return listed.all(), tags.all()


async def public_tag(session: AsyncSession, slug: str) -> Tag | None:
    """The tag, if a visible post has it: a tag on drafts only is not public yet, on
    any page of its list (a `before` cursor must not tell it apart from no tag)."""
    tagged_visible = (
        select(post_tags.c.tag_id)
        .join(Post, Post.id == post_tags.c.post_id)
        .where(post_tags.c.tag_id == Tag.id, is_listed(utcnow()))
        .exists()
    )
    return await session.scalar(select(Tag).where(Tag.slug == slug, tagged_visible))


async def tags_in_use(session: AsyncSession) -> Sequence[tuple[Tag, int]]:
    """Every tag with at least one visible post, and how many, by name."""
    visible = func.count(Post.id)
    query = (
        select(Tag, visible)
        .join(post_tags, post_tags.c.tag_id == Tag.id)
        .join(Post, Post.id == post_tags.c.post_id)
        .where(is_listed(utcnow()))
        .group_by(Tag.id)
        .order_by(func.lower(Tag.name), Tag.id)
    )
    return [(tag, number) for tag, number in (await session.execute(query)).all()]


async def archive(session: AsyncSession) -> Sequence[Post]:
    """Every visible post, newest first, with only what an archive line shows."""
    query = _newest_first(select(Post)).options(load_only(Post.title, Post.slug, Post.published_at))
    return (await session.scalars(query)).all()


async def count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count(Post.id))) or 0
