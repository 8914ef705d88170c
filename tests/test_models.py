"""The models: lazy loading is an error, timestamps are UTC, deletes cascade."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, InvalidRequestError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from components.models import Comment, CommentStatus, Media, Post, PostStatus, User, post_tags

from .conftest import write_post


async def test_forgotten_eager_load_raises(db: AsyncSession) -> None:
    await write_post(db, title="Lazy", body="x", tags=["one"])
    await db.commit()
    db.expunge_all()
    post = await db.scalar(select(Post))
    with pytest.raises(InvalidRequestError, match="lazy='raise'"):
        _ = post.tags
    loaded = await db.scalar(
        select(Post).options(selectinload(Post.tags)).execution_options(populate_existing=True)
    )
    assert [tag.name for tag in loaded.tags] == ["one"]


async def test_media_bytes_are_not_loaded_unless_asked_for(db: AsyncSession) -> None:
    db.add(Media(filename="a.png", content_type="image/png", size=3, sha256="0" * 64, data=b"abc"))
    await db.commit()
    db.expunge_all()
    media = await db.scalar(select(Media))
    with pytest.raises(InvalidRequestError):
        _ = media.data


async def test_timestamps_come_back_as_aware_utc(db: AsyncSession) -> None:
    paris = timezone(timedelta(hours=1))
    when = datetime(2026, 3, 1, 9, 30, tzinfo=paris)
    await write_post(db, title="Zoned", body="x", status=PostStatus.PUBLISHED, published_at=when)
    await db.commit()
    db.expunge_all()
    stored = await db.scalar(select(Post.published_at))
    assert stored == when
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored.hour == 8


async def test_naive_timestamps_are_refused(db: AsyncSession) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await write_post(
            db,
            title="Naive",
            body="x",
            status=PostStatus.PUBLISHED,
            published_at=datetime(2026, 1, 1),
        )


async def test_deleting_a_post_deletes_its_comments_and_tag_links(db: AsyncSession) -> None:
    post = await write_post(db, title="Doomed", body="x", tags=["kept"])
    db.add(
        Comment(
            post=post,
            author_name="A",
            body="hi",
            body_html="<p>hi</p>",
            status=CommentStatus.APPROVED,
        )
    )
    await db.commit()
    await db.delete(post)
    await db.commit()
    assert await db.scalar(select(func.count()).select_from(Comment)) == 0
    assert await db.scalar(select(func.count()).select_from(post_tags)) == 0


async def test_deleting_a_user_keeps_their_posts(db: AsyncSession) -> None:
    user = User(email="a@example.org", name="A", slug="a", password_hash="x")
    db.add(user)
    await write_post(db, title="Orphan", body="x", author=user)
    await db.commit()
    await db.delete(user)
    await db.commit()
    db.expunge_all()
    assert (await db.scalar(select(Post))).author_id is None


async def test_slugs_are_unique_and_tags_merge_by_slug(db: AsyncSession) -> None:
    first = await write_post(db, title="Same Title", body="x", tags=["Python", "python ", "C++"])
    assert [t.slug for t in first.tags] == ["python", "c"]
    await db.commit()
    with pytest.raises(IntegrityError):
        await write_post(db, title="Same title!", body="y")
