"""Series (components/series.py): posts that name one series show "Part N of M" with the
others listed, oldest first; the series has a page and a feed; drafts count once they
are published; the editor, imports and exports carry the name."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from components.exporter import render_file
from components.frontmatter import Source, SourceError, read
from components.models import Post, PostStatus, Series, User, utcnow

from .conftest import post_address, post_form, sign_in, write_post
from .test_pages import publish

SERIES = "Flask from scratch"


async def a_series(db: AsyncSession) -> list[Post]:
    """Three published parts, written out of order, a draft, and a post outside it."""
    second = await publish(db, "Templates", days_ago=2, series=SERIES)
    first = await publish(db, "Hello, Flask", days_ago=3, series="flask FROM scratch")
    third = await publish(db, "Blueprints", days_ago=1, series=SERIES)
    await write_post(db, title="Testing (soon)", body="x", series=SERIES)
    await publish(db, "Unrelated", days_ago=1)
    await db.commit()
    return [first, second, third]


async def test_each_part_says_which_it_is_and_lists_the_others(
    client: Any, db: AsyncSession
) -> None:
    first, second, third = await a_series(db)
    page = await (await client.get(post_address(second))).get_data(as_text=True)
    assert "Part 2 of 3 in the series" in page
    # Names that slug alike are one series, shown as it was first named.
    assert '<a href="/series/flask-from-scratch">Flask from scratch</a>' in page
    listed = page[page.index('<details class="series-parts" open>') :]
    listed = listed[: listed.index("</details>")]
    assert listed.index("Hello, Flask") < listed.index("Templates") < listed.index("Blueprints")
    assert '<span aria-current="page">Templates</span>' in listed
    assert f'<a href="{post_address(third)}">Blueprints</a>' in listed
    assert "Testing (soon)" not in page, "a draft is no part yet"
    unrelated = await (await client.get(post_address(first))).get_data(as_text=True)
    assert "Part 1 of 3" in unrelated


async def test_a_post_in_no_series_shows_none(client: Any, db: AsyncSession) -> None:
    post = await publish(db, "Alone", days_ago=1)
    page = await (await client.get(post_address(post))).get_data(as_text=True)
    assert 'class="series"' not in page


async def test_a_part_costs_one_statement_more_than_a_post(
    client: Any, db: AsyncSession, sql: Any
) -> None:
    _, second, _ = await a_series(db)
    assert (await client.get("/")).status_code == 200  # the settings of this moment
    sql.clear()
    assert (await client.get(post_address(second))).status_code == 200
    # The post (with its series), its tags, the older and the newer post, the clock, and
    # the parts of its series.
    assert sql.count == 6, sql.statements


async def test_the_series_page_lists_the_parts_in_reading_order(
    client: Any, db: AsyncSession
) -> None:
    await a_series(db)
    response = await client.get("/series/flask-from-scratch")
    page = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<h1 class="page-title">Flask from scratch</h1>' in page
    assert "A series in 3 parts" in page
    assert page.index("Part 1</p>") < page.index("Hello, Flask") < page.index("Part 2</p>")
    assert page.index("Templates") < page.index("Part 3</p>") < page.index("Blueprints")
    assert "Testing (soon)" not in page and "Unrelated" not in page
    assert 'href="/series/flask-from-scratch/feed.xml"' in page


async def test_the_series_feed_carries_its_parts_only(client: Any, db: AsyncSession) -> None:
    await a_series(db)
    response = await client.get("/series/flask-from-scratch/feed.xml")
    assert response.status_code == 200
    parsed = feedparser.parse(await response.get_data())
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed.title == "Flask from scratch · Quire"
    assert [entry.title for entry in parsed.entries] == ["Blueprints", "Templates", "Hello, Flask"]


async def test_a_series_of_drafts_or_no_series_is_not_found(client: Any, db: AsyncSession) -> None:
    await write_post(db, title="Only a draft", body="x", series="Secret plans")
    await publish(
        db,
        "Coming",
        published_at=utcnow() + timedelta(days=2),
        status=PostStatus.SCHEDULED,
        series="Secret plans",
    )
    await db.commit()
    for address in ("/series/secret-plans", "/series/secret-plans/feed.xml", "/series/nothing"):
        assert (await client.get(address)).status_code == 404, address


async def test_the_sitemap_lists_public_series_only(client: Any, db: AsyncSession) -> None:
    await a_series(db)
    await write_post(db, title="Only a draft", body="x", series="Secret plans")
    await db.commit()
    sitemap = await (await client.get("/sitemap.xml")).get_data(as_text=True)
    assert "<loc>http://localhost/series/flask-from-scratch</loc>" in sitemap
    assert "secret-plans" not in sitemap


async def test_the_api_names_each_posts_series_and_lists_a_series(
    client: Any, db: AsyncSession
) -> None:
    first, _, _ = await a_series(db)
    listed = (await (await client.get("/api/posts")).get_json())["posts"]
    named = {post["title"]: post["series"] for post in listed}
    assert named["Unrelated"] is None
    assert named["Templates"] == {
        "name": SERIES,
        "slug": "flask-from-scratch",
        "url": "http://localhost/series/flask-from-scratch",
        "posts_url": "http://localhost/api/posts?series=flask-from-scratch",
    }
    detail = await (await client.get(f"/api/posts/{first.slug}")).get_json()
    assert detail["series"]["slug"] == "flask-from-scratch"

    parts = await client.get("/api/posts?series=flask-from-scratch&limit=2")
    page = await parts.get_json()
    assert [post["title"] for post in page["posts"]] == ["Blueprints", "Templates"]
    assert "series=flask-from-scratch" in page["next_url"]
    rest = await (await client.get(page["next_url"].removeprefix("http://localhost"))).get_json()
    assert [post["title"] for post in rest["posts"]] == ["Hello, Flask"]


@pytest.mark.parametrize("slug", ["no-such-series", "secret-plans"])
async def test_the_api_refuses_a_series_that_is_not_public(
    client: Any, db: AsyncSession, slug: str
) -> None:
    await write_post(db, title="Only a draft", body="x", series="Secret plans")
    await db.commit()
    response = await client.get(f"/api/posts?series={slug}")
    assert response.status_code == 404
    assert (await response.get_json())["error"]["message"] == f"There is no series '{slug}'."


# --- the editor ------------------------------------------------------------------------


@pytest.fixture
async def writer(client: Any, author: User) -> User:
    await sign_in(client, "ada@example.com")
    return author


async def stored(db: AsyncSession, title: str) -> Post:
    query = (
        select(Post)
        .where(Post.title == title)
        .options(joinedload(Post.series))
        .execution_options(populate_existing=True)
    )
    return (await db.scalars(query)).one()


async def test_the_editor_sets_changes_and_clears_the_series(
    client: Any, db: AsyncSession, writer: User
) -> None:
    await publish(db, "Part one", days_ago=2, series=SERIES)
    form = {
        "title": "Part two",
        "body": "Text.",
        "action": "publish",
        "series": "  Flask   from scratch ",
    }
    response = await post_form(client, "/admin/posts/save", form)
    assert response.status_code == 303
    post = await stored(db, "Part two")
    assert post.series is not None and post.series.name == SERIES
    assert (await db.scalars(select(Series))).all() == [post.series], "one series, not two"

    editor = await (await client.get(response.headers["Location"])).get_data(as_text=True)
    assert 'name="series" value="Flask from scratch"' in editor
    assert '<option value="Flask from scratch"></option>' in editor

    changed = {**form, "series": "", "version": str(post.version), "post_id": str(post.id)}
    await post_form(client, "/admin/posts/save", changed)
    assert (await stored(db, "Part two")).series is None


@pytest.mark.parametrize(
    ("typed", "message"),
    [("日本語", "needs at least one Latin letter or digit"), ("x" * 201, "at most 200 fit")],
)
async def test_a_series_name_that_cannot_be_used_is_refused_with_the_text_kept(
    client: Any, db: AsyncSession, writer: User, typed: str, message: str
) -> None:
    form = {"title": "Kept", "body": "My words.", "action": "draft", "series": typed}
    response = await post_form(client, "/admin/posts/save", form)
    page = await response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    assert 'aria-describedby="series-error"' in page
    assert "My words." in page


async def test_a_page_has_no_series_field(client: Any, writer: User) -> None:
    page = await (await client.get("/admin/pages/new")).get_data(as_text=True)
    assert 'name="series"' not in page


# --- front matter ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("matter", "name", "warned"),
    [
        ("series: Flask from scratch", SERIES, False),
        ('series: ["Flask from scratch"]', SERIES, False),
        ("series:\n  - Flask from scratch\n  - Other", SERIES, True),
        ("series: 日本語", "", True),
        ("series:", "", False),
    ],
)
def test_front_matter_names_the_series(matter: str, name: str, warned: bool) -> None:
    source = read(f"---\ntitle: T\n{matter}\n---\nBody.\n".encode(), Path("_posts/2024-01-02-t.md"))
    assert source.series == name
    assert ("series" in " ".join(source.warnings)) is warned
    assert "series" not in source.extra


def test_a_series_that_is_not_a_name_is_refused() -> None:
    with pytest.raises(SourceError, match="'series' must be a list or a string"):
        read(b"---\ntitle: T\nseries: {a: 1}\n---\nBody.\n", Path("_posts/2024-01-02-t.md"))


def test_a_fresh_export_names_the_series_and_reads_back() -> None:
    text = render_file(Source(title="T", slug="t", body="Body.\n", series=SERIES))
    assert "\nseries: Flask from scratch\n" in text
    assert read(text.encode(), Path("_posts/2024-01-02-t.md")).series == SERIES
