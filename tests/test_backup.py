"""`quire export` is a backup: comments in their threads, people and settings go out
with the posts, and `quire import` of that folder brings them back, adding none twice
and never overwriting a blog's own settings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from components import site
from components.comments import backup
from components.models import (
    AuthorProfile,
    Comment,
    CommentStatus,
    Post,
    PostStatus,
    Role,
    SiteSettings,
    User,
)

from .conftest import backend_url, make_user, run_async, session_on, write_post
from .portability import Blog


@pytest.fixture
def blog(backend: str, postgres_schema: None, tmp_path: Path) -> Blog:
    return Blog.empty(backend_url(backend, tmp_path), tmp_path)


def fill(blog: Blog) -> None:
    async def add() -> None:
        async with session_on(blog.url) as session:
            post = await write_post(
                session,
                title="Talked about",
                body="x",
                status=PostStatus.PUBLISHED,
                published_at=datetime(2024, 1, 2, tzinfo=UTC),
            )
            first = Comment(
                post_id=post.id,
                author_name="Grace",
                author_url="https://grace.example.org",
                body="First, with *emphasis*.",
                body_html="<p>First, with <em>emphasis</em>.</p>",
                status=CommentStatus.APPROVED,
                created_at=datetime(2024, 1, 3, 9, tzinfo=UTC),
                ip="192.0.2.7",
            )
            session.add(first)
            await session.flush()
            reply = Comment(
                post_id=post.id,
                parent_id=first.id,
                author_name="Ada",
                body="A reply.",
                body_html="<p>A reply.</p>",
                status=CommentStatus.APPROVED,
                created_at=datetime(2024, 1, 3, 10, tzinfo=UTC),
            )
            session.add(reply)
            await session.flush()
            session.add_all(
                [
                    Comment(
                        post_id=post.id,
                        parent_id=reply.id,
                        author_name="Linus",
                        body="A reply to the reply, waiting.",
                        body_html="<p>…</p>",
                        status=CommentStatus.PENDING,
                        created_at=datetime(2024, 1, 4, tzinfo=UTC),
                    ),
                    Comment(
                        post_id=post.id,
                        author_name="Pills",
                        body="Spam.",
                        body_html="<p>Spam.</p>",
                        status=CommentStatus.SPAM,
                        created_at=datetime(2024, 1, 5, tzinfo=UTC),
                    ),
                ]
            )
            await session.commit()

    run_async(add())


def threads(blog: Blog) -> list[tuple[str, str | None, str, str, str, datetime]]:
    """Each comment as (name, its parent's name, status, url, body, date)."""

    async def read() -> list[tuple[str, str | None, str, str, str, datetime]]:
        async with session_on(blog.url) as session:
            found = list(await session.scalars(select(Comment).order_by(Comment.created_at)))
            names = {comment.id: comment.author_name for comment in found}
            return [
                (
                    c.author_name,
                    names.get(c.parent_id) if c.parent_id else None,
                    c.status.value,
                    c.author_url,
                    c.body,
                    c.created_at,
                )
                for c in found
            ]

    return run_async(read())


def test_comments_go_out_with_the_posts_and_come_back_in_their_threads(
    blog: Blog, tmp_path: Path
) -> None:
    fill(blog)
    before = threads(blog)
    out = tmp_path / "export"
    result = blog.quire("export", str(out))
    assert result.exit_code == 0, result.output
    assert "and 4 comment(s) to" in result.stdout
    written = (out / backup.COMMENTS_FILE).read_text()
    assert "192.0.2.7" not in written  # readers' addresses stay home

    again = Blog.empty(blog.url, tmp_path / "second")
    dry = again.quire("import", "--dry-run", str(out))
    assert "4 comment(s) would be added" in dry.stdout and threads(again) == []
    restored = again.quire("import", str(out))
    assert restored.exit_code == 0, restored.output
    assert "4 comment(s) added" in restored.stdout
    assert threads(again) == before
    assert again.quire("import", str(out)).exit_code == 0
    assert threads(again) == before


def test_a_bad_comments_file_is_named_and_the_posts_still_come_in(
    blog: Blog, tmp_path: Path
) -> None:
    fill(blog)
    out = tmp_path / "export"
    assert blog.quire("export", str(out)).exit_code == 0
    (out / backup.COMMENTS_FILE).write_text("talked-about:\n  - id: x\n    body: 1\n")
    again = Blog.empty(blog.url, tmp_path / "second")
    result = again.quire("import", str(out))
    assert result.exit_code == 1
    assert "quire_comments.yml: comments not restored: post 'talked-about', comment 1" in (
        result.stderr
    )
    assert set(again.contents()["posts"]) == {"talked-about"}
    assert threads(again) == []


def fill_people_and_settings(blog: Blog) -> None:
    async def add() -> None:
        async with session_on(blog.url) as session:
            ada = await make_user(session, "ada@example.com", "Ada Lovelace", role=Role.ADMIN)
            session.add(AuthorProfile(user_id=ada.id, bio="Writes.", links=["https://ada.example"]))
            await write_post(
                session,
                title="By Ada",
                body="x",
                status=PostStatus.PUBLISHED,
                published_at=datetime(2024, 2, 1, tzinfo=UTC),
                author=ada,
            )
            await site.save(session, {"title": "Ada's notes", "language": "en-GB"})
            await site.save_menu(session, [{"label": "About", "url": "/about"}])
            await site.save_default_author(session, ada.id)
            await session.commit()

    run_async(add())


def restored(blog: Blog) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        async with session_on(blog.url) as session:
            ada = await session.scalar(select(User).where(User.email == "ada@example.com"))
            post = await session.scalar(select(Post).where(Post.slug == "by-ada"))
            profile = await session.scalar(select(AuthorProfile))
            row = await session.get(SiteSettings, 1)
            return {
                "ada": (ada.name, ada.slug, ada.role, ada.disabled_at is not None) if ada else None,
                "author": post.author_id == ada.id if post and ada else None,
                "profile": (profile.bio, profile.links) if profile else None,
                "settings": (row.title, row.language, row.menu, row.default_author_id == ada.id)
                if row and ada
                else None,
            }

    return run_async(read())


def test_people_and_settings_come_back_and_never_overwrite(blog: Blog, tmp_path: Path) -> None:
    fill_people_and_settings(blog)
    out = tmp_path / "export"
    assert blog.quire("export", str(out)).exit_code == 0
    people_file = (out / "_data" / "quire_people.yml").read_text()
    assert "password" not in people_file and "ada@example.com" in people_file

    again = Blog.empty(blog.url, tmp_path / "second")
    result = again.quire("import", str(out))
    assert result.exit_code == 0, result.output
    assert "1 account(s) made, disabled until an admin enables them" in result.stderr
    assert "settings restored" in result.stderr
    assert restored(again) == {
        "ada": ("Ada Lovelace", "ada-lovelace", Role.ADMIN, True),
        "author": True,
        "profile": ("Writes.", ["https://ada.example"]),
        "settings": ("Ada's notes", "en-GB", [{"label": "About", "url": "/about"}], True),
    }
    second = again.quire("import", str(out))
    assert "settings left as they are: this blog has its own" in second.stderr
    assert "0 account(s) made" in second.stderr


def test_a_bad_settings_file_is_named(blog: Blog, tmp_path: Path) -> None:
    fill_people_and_settings(blog)
    out = tmp_path / "export"
    assert blog.quire("export", str(out)).exit_code == 0
    (out / "_data" / "quire_settings.yml").write_text("base_url: javascript:alert(1)\n")
    again = Blog.empty(blog.url, tmp_path / "second")
    result = again.quire("import", str(out))
    assert result.exit_code == 1
    assert "quire_settings.yml: settings not restored: base_url:" in result.stderr
    assert restored(again)["settings"] is None
