"""Posts: what the public may see, how they are listed, and how they are saved."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from components import markdown
from components.models import Post, PostStatus, Tag, User, utcnow
from components.text import slugify


class PostError(ValueError):
    """A post cannot be saved as given; the message says why."""


def is_visible(now: datetime) -> ColumnElement[bool]:
    """Published posts, and scheduled ones whose time has come."""
    return and_(
        Post.status.in_((PostStatus.PUBLISHED, PostStatus.SCHEDULED)),
        Post.published_at <= now,
    )


async def latest(session: AsyncSession, limit: int = 10) -> Sequence[Post]:
    """The newest visible posts, with their tags, for the home page."""
    query = (
        select(Post)
        .where(is_visible(utcnow()))
        .order_by(Post.published_at.desc(), Post.id.desc())
        .limit(limit)
        .options(selectinload(Post.tags))
    )
    return (await session.scalars(query)).all()


async def find_visible(session: AsyncSession, published_on: date, slug: str) -> Post | None:
    """The visible post with this slug, if it was published on that (UTC) day."""
    query = (
        select(Post).where(Post.slug == slug, is_visible(utcnow())).options(selectinload(Post.tags))
    )
    post = await session.scalar(query)
    if post is None or post.published_at is None or post.published_at.date() != published_on:
        return None
    return post


async def count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count(Post.id))) or 0


async def tags_named(session: AsyncSession, names: Iterable[str]) -> list[Tag]:
    """The tags with these names, created where missing; names that slug alike are one tag."""
    wanted: dict[str, str] = {}
    for name in names:
        clean = " ".join(name.split())
        slug = slugify(clean)
        if slug and slug not in wanted:
            wanted[slug] = clean
    if not wanted:
        return []
    existing = {
        tag.slug: tag for tag in await session.scalars(select(Tag).where(Tag.slug.in_(wanted)))
    }
    tags = []
    for slug, name in wanted.items():
        tag = existing.get(slug)
        if tag is None:
            tag = Tag(name=name, slug=slug)
            session.add(tag)
        tags.append(tag)
    return tags


async def create(
    session: AsyncSession,
    *,
    title: str,
    body: str,
    slug: str | None = None,
    description: str = "",
    tags: Iterable[str] = (),
    status: PostStatus = PostStatus.DRAFT,
    published_at: datetime | None = None,
    author: User | None = None,
    comments_enabled: bool = False,
    share_enabled: bool = True,
) -> Post:
    """Add a new post, rendering its Markdown now so that readers never wait for it."""
    title = title.strip()
    if not title:
        raise PostError("A post needs a title.")
    slug = slugify(slug or title)
    if not slug:
        raise PostError("The slug must contain at least one letter or digit.")
    if await session.scalar(select(Post.id).where(Post.slug == slug)) is not None:
        raise PostError(f"The slug “{slug}” is already used by another post.")
    if status is not PostStatus.DRAFT and published_at is None:
        published_at = utcnow()
    rendered = markdown.render(body)
    post = Post(
        title=title,
        slug=slug,
        description=description.strip(),
        body=body,
        body_html=rendered.html,
        excerpt=rendered.excerpt,
        reading_minutes=rendered.reading_minutes,
        status=status,
        published_at=published_at,
        author=author,
        comments_enabled=comments_enabled,
        share_enabled=share_enabled,
        tags=await tags_named(session, tags),
    )
    session.add(post)
    await session.flush()
    return post
