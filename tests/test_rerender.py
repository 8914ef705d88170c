"""Posts rendered again when Quire renders differently (components/rerender.py): by
`quire render` and at the end of `quire db upgrade`, resumable, without a false conflict
for an open editor, and never over a save made meanwhile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from components import clock, markdown, render_pool, rerender
from components.models import Post, PostStatus
from tests.conftest import backend_url, run_async, session_on, write_post
from tests.portability import Blog

OLD_HTML = '<pre class="highlight" data-lang="python"><code>x = 1</code></pre>'
BODY = '```python title="app.py"\nx = 1\n```\n'
LINKS = rerender.Links(url=lambda item: f"/media/{item.id}", picture=lambda item: None)


async def rendered_long_ago(session: AsyncSession, title: str, body: str = BODY) -> Post:
    post = await write_post(session, title=title, body=body, status=PostStatus.PUBLISHED)
    await session.flush()
    await session.execute(
        update(Post)
        .where(Post.id == post.id)
        .values(body_html=OLD_HTML, body_text="x = 1", render_version=0)
    )
    await session.commit()
    return post


async def stored(session: AsyncSession, post_id: int) -> Post:
    query = select(Post).where(Post.id == post_id).execution_options(populate_existing=True)
    return (await session.scalars(query)).one()


async def test_a_saved_post_records_the_rendering_that_made_it(db: AsyncSession) -> None:
    post = await write_post(db, title="New", body=BODY)
    await db.commit()
    assert (await stored(db, post.id)).render_version == markdown.VERSION
    assert await rerender.stale_count(db) == 0


async def test_an_old_rendering_is_made_again_without_touching_the_version(
    db: AsyncSession,
) -> None:
    post = await rendered_long_ago(db, "Old")
    version = (await stored(db, post.id)).version
    before = await clock.now(db)
    assert await rerender.stale_count(db) == 1

    last, written = await rerender.render_batch(db, LINKS)
    await db.commit()

    again = await stored(db, post.id)
    assert (last, written) == (post.id, 1)
    assert '<span class="code-title">app.py</span>' in again.body_html
    # The plain text search reads is made again with the HTML.
    assert await db.scalar(select(Post.body_text).where(Post.id == post.id)) == "app.py x = 1"
    assert again.render_version == markdown.VERSION
    assert again.version == version  # an open editor sees no conflict
    assert (await clock.now(db)).version > before.version  # kept pages are made anew
    assert await rerender.stale_count(db) == 0


async def test_a_post_saved_meanwhile_is_left_as_its_save_made_it(
    db: AsyncSession, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = await rendered_long_ago(db, "Raced")
    real_pictures = rerender.pictures

    async def writer_saves_meanwhile(session: AsyncSession, body: str, **links: Any) -> Any:
        # Between the batch's read and its write, the writer's save lands.
        async with session_on(database_url) as writer:
            await writer.execute(
                update(Post)
                .where(Post.id == post.id)
                .values(body_html="<p>the writer's</p>", version=Post.version + 1)
            )
            await writer.commit()
        return await real_pictures(session, body, **links)

    monkeypatch.setattr(rerender, "pictures", writer_saves_meanwhile)
    _last, written = await rerender.render_batch(db, LINKS)
    await db.commit()
    assert written == 0
    assert (await stored(db, post.id)).body_html == "<p>the writer's</p>"


def test_quire_render_and_db_upgrade_render_old_posts_again(
    backend: str, postgres_schema: None, tmp_path: Path
) -> None:
    blog = Blog.empty(backend_url(backend, tmp_path), tmp_path)

    async def seed(count: int, name: str) -> None:
        async with session_on(blog.url) as session:
            for number in range(count):
                await rendered_long_ago(session, f"{name} {number}")

    run_async(seed(25, "Old"))  # more than a batch
    done = blog.quire("render")
    assert done.exit_code == 0, done.output
    assert "rendered 25 post(s) again" in done.output
    assert "every post is rendered" in blog.quire("render").output
    assert all("code-title" in post.body_html for post in blog.posts().values())

    run_async(seed(1, "Older"))
    upgraded = blog.quire("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "database is up to date; rendered 1 post(s) again" in upgraded.output


def test_quire_render_with_several_jobs_gives_each_post_its_own_html(
    backend: str, postgres_schema: None, tmp_path: Path
) -> None:
    """Renders run side by side and come back in any order; each must land on its post."""
    blog = Blog.empty(backend_url(backend, tmp_path), tmp_path)

    async def seed() -> None:
        async with session_on(blog.url) as session:
            for number in range(45):  # two batches and a part
                body = f'```python title="file{number}.py"\nx = {number}\n```\n'
                await rendered_long_ago(session, f"Post {number}", body)

    run_async(seed())
    try:
        done = blog.quire("render", "--jobs", "3")
    finally:
        render_pool.use_workers(1)  # the rest of the tests render as a server does
    assert done.exit_code == 0, done.output
    assert "rendered 45 post(s) again" in done.output
    for post in blog.posts().values():
        number = post.title.removeprefix("Post ")
        assert f'<span class="code-title">file{number}.py</span>' in post.body_html, post.title


def test_quire_render_refuses_a_job_count_out_of_range(tmp_path: Path) -> None:
    blog = Blog.empty(backend_url("sqlite", tmp_path), tmp_path)
    refused = blog.quire("render", "--jobs", "0")
    assert refused.exit_code == 2
    assert "Invalid value for '--jobs'" in refused.output
