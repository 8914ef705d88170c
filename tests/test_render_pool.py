"""Markdown rendered in a worker process with limits (components/render_pool.py): a text
that takes too long or needs too much memory is refused with a message, nothing is
stored, and the next render works; the editor, the preview, the importer and
`quire render` each say so in their own way."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from components import markdown, render_pool, rerender
from components.models import Post, PostStatus, User

from .conftest import post_address, post_form, sign_in, write_post

# Twenty thousand lines of Python: about a second of highlighting on an idle machine,
# and many on a busy one; a tenth of a second is the limit where it must be refused.
SLOW = "```python\n" + "def f(x):\n    return [y * 2 for y in x]  # twice\n" * 20_000 + "```\n"
FAST_LIMIT = 0.1


@pytest.fixture
def a_fresh_worker_after() -> Iterator[None]:
    yield
    render_pool.stop()


async def test_a_render_past_its_time_is_refused_and_the_next_one_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(render_pool, "RENDER_SECONDS", FAST_LIMIT)
    with pytest.raises(render_pool.RenderRefused, match=r"took longer than 0\.1 seconds"):
        await render_pool.render(SLOW)
    monkeypatch.undo()
    rendered = await render_pool.render("After *that*.")
    assert rendered.html == "<p>After <em>that</em>.</p>\n"


async def test_a_render_past_its_memory_is_refused(
    monkeypatch: pytest.MonkeyPatch, a_fresh_worker_after: None
) -> None:
    render_pool.stop()
    monkeypatch.setattr(render_pool, "RENDER_MEMORY", 300 * 2**20)
    with pytest.raises(render_pool.RenderRefused, match="needed more than 300 MB"):
        await render_pool.render("word " * 8_000_000)
    assert (await render_pool.render("Still *here*.")).html == "<p>Still <em>here</em>.</p>\n"


@pytest.mark.parametrize("opening", ["- ", "> ", "1. ", "* > "])
async def test_deep_nesting_renders_whole_or_is_refused_never_cut(opening: str) -> None:
    """markdown-it alone drops all that follows a list ten deep; nothing may be lost."""
    fits = await render_pool.render(opening * 12 + "deep\n\nafter\n")
    assert "deep" in fits.html and "after" in fits.html
    for depth in (200, 50_000):
        with pytest.raises(render_pool.RenderRefused, match="nests lists or quotes more deeply"):
            await render_pool.render(opening * depth + "deep\n\nafter\n")


async def test_the_worker_renders_what_markdown_renders() -> None:
    body = "# Title\n\n```mermaid\nflowchart LR\n  a --> b\n```\n\n$x^2$ and `code`.\n"
    pooled = await render_pool.render(body)
    assert pooled == markdown.render(body)


# --- where a refusal shows ------------------------------------------------------------


@pytest.fixture
async def writer(client: Any, author: User) -> User:
    await sign_in(client, "ada@example.com")
    return author


async def test_the_editor_keeps_the_text_and_says_why_it_was_not_saved(
    client: Any, db: AsyncSession, writer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render_pool, "RENDER_SECONDS", FAST_LIMIT)
    form = {"title": "Too slow", "body": SLOW, "action": "publish"}
    response = await post_form(client, "/admin/posts/save", form)
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Not saved: This text took longer than 0.1 seconds to render." in page
    assert "return [y * 2 for y in x]  # twice" in page
    assert await db.scalar(select(func.count()).select_from(Post)) == 0


async def test_the_preview_shows_what_will_not_draw_and_what_could_not_render(
    client: Any, writer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    htmx = {"HX-Request": "true", "HX-Request-Type": "partial"}
    broken = {"title": "Draft", "body": "```mermaid\npie\n```\n", "action": "draft"}
    response = await post_form(client, "/admin/preview", broken, headers=htmx)
    fragment = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Readers will see this as code until it is fixed:" in fragment
    assert "Diagram 1 (mermaid): Invalid mermaid header" in fragment

    monkeypatch.setattr(render_pool, "RENDER_SECONDS", FAST_LIMIT)
    slow = {"title": "Draft", "body": SLOW, "action": "draft"}
    response = await post_form(client, "/admin/preview", slow, headers=htmx)
    fragment = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No preview: This text took longer than 0.1 seconds to render." in fragment


async def test_a_published_diagram_is_in_the_page_under_the_strict_csp(
    client: Any, db: AsyncSession
) -> None:
    post = await write_post(
        db,
        title="Drawn",
        body="```mermaid\nflowchart LR\n  a[Ask] --> b[Answer]\n```\n",
        status=PostStatus.PUBLISHED,
    )
    await db.commit()
    response = await client.get(post_address(post))
    page = await response.get_data(as_text=True)
    assert "style-src 'self'" in response.headers["Content-Security-Policy"]
    assert '<figure class="diagram"><svg role="img"' in page
    assert ">Answer</text>" in page


async def test_quire_render_leaves_a_refused_post_as_it_was_and_says_so(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = await write_post(db, title="Slow", body="Quick.", status=PostStatus.PUBLISHED)
    await db.flush()
    # Stored as an older Quire would have: the long text, its HTML made long ago.
    await db.execute(
        update(Post)
        .where(Post.id == post.id)
        .values(body=SLOW, body_html="<p>old</p>", render_version=0)
    )
    await db.commit()
    monkeypatch.setattr(render_pool, "RENDER_SECONDS", FAST_LIMIT)
    refusals: list[str] = []
    links = rerender.Links(url=lambda item: f"/media/{item.id}", picture=lambda item: None)
    last, written = await rerender.render_batch(db, links, refusals=refusals)
    assert (last, written) == (post.id, 0)
    assert refusals == [
        f"post {post.id}: This text took longer than 0.1 seconds to render. "
        "A very long code block or a deeply nested list is the usual cause."
    ]
    assert await rerender.stale_count(db) == 1
