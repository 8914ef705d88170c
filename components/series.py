"""Series: posts that are the parts of one story, read in the order they were published.

A post names its series (`series: Name` in front matter, or the editor's field); names
that slug alike are one series, shown under the name it was first given. Each part shows
"Part N of M" with the others listed, and the series has a page and a feed of its own.
A series is public once one of its parts is listed; drafts and scheduled parts are not
counted until they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from components.models import Post, Series, utcnow
from components.posts import is_listed
from components.text import slugify

MAX_NAME = 200
# The parts a post lists beside itself; a series longer than this is rare, and its own
# page lists every part.
MAX_LISTED_PARTS = 500


@dataclass(frozen=True)
class Parts:
    """A series as one of its posts shows it: every listed part, oldest first."""

    series: Series
    posts: Sequence[Post]

    def number_of(self, post: Post) -> int | None:
        """The post's part number, counted from 1; None for a part not listed yet."""
        return next((n for n, part in enumerate(self.posts, start=1) if part.id == post.id), None)


def clean_name(name: str) -> str:
    return " ".join(name.split())[:MAX_NAME]


def problem_with(name: str) -> str | None:
    """What is wrong with a series name as typed, or None (a blank name is no series)."""
    clean = " ".join(name.split())  # not cut to MAX_NAME: its length is what is checked
    if not clean:
        return None
    if len(clean) > MAX_NAME:
        return f"The series name is {len(clean)} characters; at most {MAX_NAME} fit."
    if not slugify(clean):
        return "A series name needs at least one Latin letter or digit, for its address."
    return None


async def named(session: AsyncSession, name: str) -> Series | None:
    """The series with this name, made if it is new; None for a blank or unusable name."""
    clean = clean_name(name)
    slug = slugify(clean)
    if not slug:
        return None
    found = await session.scalar(select(Series).where(Series.slug == slug))
    if found is None:
        found = Series(name=clean, slug=slug)
        session.add(found)
    return found


async def public(session: AsyncSession, slug: str) -> Series | None:
    """The series, if one of its parts is listed: a series of drafts is not public yet."""
    listed_part = select(Post.id).where(Post.series_id == Series.id, is_listed(utcnow())).exists()
    return await session.scalar(select(Series).where(Series.slug == slug, listed_part))


async def public_slugs(session: AsyncSession) -> Sequence[str]:
    """The slugs of every public series, for the sitemap: one statement."""
    listed = select(Post.series_id).where(is_listed(utcnow()), Post.series_id.is_not(None))
    found = await session.scalars(
        select(Series.slug).where(Series.id.in_(listed)).order_by(Series.slug)
    )
    return found.all()


def is_part_of(series: Series) -> ColumnElement[bool]:
    """The posts of `series`, for the lists and feeds of components/posts."""
    return Post.series_id == series.id


async def parts(session: AsyncSession, series: Series) -> Parts:
    """The listed parts of `series`, oldest first (titles and addresses): one statement."""
    found = await session.scalars(
        select(Post)
        .where(is_part_of(series), is_listed(utcnow()))
        .order_by(Post.published_at, Post.id)
        .options(load_only(Post.title, Post.slug, Post.published_at, raiseload=True))
        .limit(MAX_LISTED_PARTS)
    )
    return Parts(series, found.all())


async def names_in_use(session: AsyncSession, limit: int = 200) -> Sequence[str]:
    """Series names that posts use, most used first, for the editor's suggestions."""
    used = (
        select(Series.name)
        .join(Post, Post.series_id == Series.id)
        .group_by(Series.id, Series.name)
        .order_by(func.count(Post.id).desc(), Series.name)
        .limit(limit)
    )
    return (await session.scalars(used)).all()
