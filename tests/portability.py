"""Helpers for the import and export tests: the `quire` command on a test database,
and everything a blog holds, in a form two blogs can be compared by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from click.testing import CliRunner, Result
from sqlalchemy import Connection, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from cli.commands import main
from components import migrations
from components.db import make_engine
from components.models import (
    AuthorProfile,
    Comment,
    Media,
    Post,
    PostKind,
    Redirect,
    SiteSettings,
    User,
)
from components.posts import post_status_label

from .conftest import TEST_SECRET, reset_database, run_async, session_on

FIXTURES = Path(__file__).parent / "fixtures" / "site"


async def stamp_as_migrated(url: str) -> None:
    """Mark a database built from the models as migrated, as `quire db upgrade` leaves it."""

    def stamp(connection: Connection) -> None:
        config = migrations.alembic_config()
        config.attributes["connection"] = connection
        command.stamp(config, "head")

    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(stamp)
    finally:
        await engine.dispose()


@dataclass
class Blog:
    """An empty, migrated blog and the `quire` command pointed at it."""

    url: str
    folder: Path

    @classmethod
    def empty(cls, url: str, folder: Path) -> Blog:
        run_async(reset_database(url))
        return cls.migrated(url, folder)

    @classmethod
    def migrated(cls, url: str, folder: Path) -> Blog:
        run_async(stamp_as_migrated(url))
        return cls(url, folder)

    @property
    def media_folder(self) -> Path:
        return self.folder / "instance" / "media"

    def quire(self, *args: str) -> Result:
        env = {
            "DATABASE_URL": self.url,
            "QUIRE_INSTANCE_PATH": str(self.folder / "instance"),
            "SECRET_KEY": TEST_SECRET,
        }
        return CliRunner().invoke(main, list(args), env=env)

    def contents(self) -> dict[str, Any]:
        return run_async(contents(self.url))

    def posts(self) -> dict[str, Post]:
        """The posts by slug, with their tags and author loaded."""
        return run_async(_loaded_posts(self.url))

    def users(self) -> dict[str, User]:
        """The accounts by email."""
        return run_async(_users(self.url))


async def _loaded_posts(url: str) -> dict[str, Post]:
    async with session_on(url) as session:
        found = await session.scalars(
            select(Post).options(selectinload(Post.tags), selectinload(Post.author))
        )
        return {post.slug: post for post in found}


async def _users(url: str) -> dict[str, User]:
    async with session_on(url) as session:
        return {user.email: user for user in await session.scalars(select(User))}


@dataclass(frozen=True)
class PostView:
    title: str
    description: str
    body: str
    status_label: str
    published_at: datetime | None
    comments: bool
    share: bool
    tags: frozenset[str]
    redirects: frozenset[str]
    front_matter: dict[str, Any]
    kind: PostKind


async def contents(url: str) -> dict[str, Any]:
    """Posts by slug, media by hash, comments in their threads and what shows the site's
    and its people's images: what an export must carry from blog to blog."""
    async with session_on(url) as session:
        return {
            "posts": await _posts(session),
            "media": await _media(session),
            "comments": await _comments(session),
            "site_images": await _site_images(session),
        }


# A blog that shows no image of its own: no logo, no icon, no avatars.
NO_SITE_IMAGES = (None, None, {})


async def _site_images(session: AsyncSession) -> tuple[str | None, str | None, dict[str, str]]:
    """The logo's and the icon's hashes, and each avatar's by its author's email."""
    settings = await session.scalar(
        select(SiteSettings).options(
            selectinload(SiteSettings.logo), selectinload(SiteSettings.favicon)
        )
    )
    avatars = await session.execute(
        select(User.email, Media.sha256)
        .join(AuthorProfile, AuthorProfile.user_id == User.id)
        .join(Media, Media.id == AuthorProfile.avatar_id)
    )
    return (
        settings.logo.sha256 if settings and settings.logo else None,
        settings.favicon.sha256 if settings and settings.favicon else None,
        {email: sha256 for email, sha256 in avatars},
    )


async def _comments(session: AsyncSession) -> list[tuple[Any, ...]]:
    """Each comment: its post's slug, its parent (by author and time), who, what, when."""
    rows = await session.execute(
        select(Post.slug, Comment).join(Post, Post.id == Comment.post_id).order_by(Comment.id)
    )
    found = [(slug, comment) for slug, comment in rows]
    by_id = {comment.id: (comment.author_name, comment.created_at) for _, comment in found}
    return sorted(
        (
            (
                slug,
                by_id.get(comment.parent_id) if comment.parent_id else None,
                comment.author_name,
                comment.author_url,
                comment.body,
                comment.status.value,
                comment.created_at,
            )
            for slug, comment in found
        ),
        key=lambda row: (row[0], row[6]),
    )


async def _posts(session: AsyncSession) -> dict[str, PostView]:
    redirects: dict[int, set[str]] = {}
    for post_id, path in await session.execute(select(Redirect.post_id, Redirect.path)):
        redirects.setdefault(post_id, set()).add(path)
    found = await session.scalars(select(Post).options(selectinload(Post.tags)))
    return {
        post.slug: PostView(
            title=post.title,
            description=post.description,
            body=post.body,
            status_label=post_status_label(post),
            published_at=post.published_at,
            comments=post.comments_enabled,
            share=post.share_enabled,
            tags=frozenset(tag.name for tag in post.tags),
            redirects=frozenset(redirects.get(post.id, ())),
            front_matter=post.front_matter,
            kind=post.kind,
        )
        for post in found
    }


async def _media(session: AsyncSession) -> dict[str, tuple[Any, ...]]:
    found = await session.scalars(
        select(Media).options(selectinload(Media.variants), selectinload(Media.owner))
    )
    return {
        item.sha256: (
            item.filename,
            item.alt_text,
            item.content_type,
            item.width,
            item.height,
            tuple(variant.sha256 for variant in item.variants),
            item.owner.email if item.owner else None,
            item.created_at,
        )
        for item in found
    }
