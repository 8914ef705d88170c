"""`quire export` keeps the comments, threads and states included, and `quire import` of
that folder brings them back; importing again adds none twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from components.comments import backup
from components.models import Comment, CommentStatus, PostStatus

from .conftest import backend_url, run_async, session_on, write_post
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
