"""The reader's pages: pagination, tags, the archive, redirects, and what each costs."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components import posts
from components.models import Redirect, utcnow
from web.pages.store import PAGES

from .conftest import post_address, write_post
from .test_pages import PARTIAL, publish


def card_titles(page: str) -> list[str]:
    return re.findall(r'<h2 class="card-title"><a href="[^"]+">([^<]+)</a>', page)


def older_link(page: str) -> str | None:
    match = re.search(r'<a href="([^"]+)" rel="next" data-hx-get="\1"', page)
    return match and match[1].replace("&amp;", "&")


async def test_home_pages_through_every_post_once_by_keyset(app, client, db) -> None:
    app.config["POSTS_PER_PAGE"] = 3
    moment = utcnow() - timedelta(days=1)
    # Two posts share a publication time: the id breaks the tie, so none is lost or repeated.
    for number in range(7):
        await publish(db, f"Post {number}", published_at=moment - timedelta(hours=number // 2 * 2))
    seen: list[str] = []
    url: str | None = "/"
    pages = 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        page = await response.get_data(as_text=True)
        seen.extend(card_titles(page))
        url = older_link(page)
        pages += 1
        if url:
            assert "?before=" in url and "offset" not in url.lower()
    assert pages == 3
    assert sorted(seen) == [f"Post {n}" for n in range(7)]
    assert len(seen) == len(set(seen))


async def test_back_asks_for_the_pages_scrolled_through_at_once(app, client, db) -> None:
    app.config["POSTS_PER_PAGE"] = 2
    for number in range(7):
        await publish(db, f"Card {number}", days_ago=number + 1, tags=["Kept"])
    for base in ("/", "/tags/kept"):
        one = await (await client.get(base)).get_data(as_text=True)
        three = await (await client.get(f"{base}?pages=3")).get_data(as_text=True)
        assert card_titles(three) == [f"Card {n}" for n in range(6)]
        # Paging on goes from the last card shown, as after the third page scrolled in.
        page_four = await (await client.get(older_link(three) or "")).get_data(as_text=True)
        assert card_titles(page_four) == ["Card 6"]
        # The list is the first page's, longer: not a page of its own for search engines.
        assert '<meta name="robots" content="noindex, follow">' in three
        assert "noindex" not in one
    for wrong in ("0", "11", "two", "-1", ""):
        refused = await client.get(f"/?pages={wrong}")
        assert refused.status_code == 400, wrong
        assert "pages must be a whole number from 1 to 10" in await refused.get_data(as_text=True)


async def test_older_posts_fragment_is_cards_and_the_next_link(app, client, db) -> None:
    app.config["POSTS_PER_PAGE"] = 2
    for number in range(5):
        await publish(db, f"Card {number}", days_ago=number + 1)
    first = await (await client.get("/")).get_data(as_text=True)
    nxt = older_link(first)
    assert nxt is not None
    assert 'data-hx-push-url="true"' in first and 'data-hx-trigger="intersect once"' in first
    # Scrolling loads on without touching the address: only a click moves it.
    assert "data-hx-replace-url" not in first
    fragment = await client.get(nxt, headers=PARTIAL)
    body = await fragment.get_data(as_text=True)
    assert "<html" not in body and "<section" not in body
    assert card_titles(body) == ["Card 2", "Card 3"]
    assert older_link(body) is not None
    assert "Vary" in fragment.headers
    # The same address as a full page: a reload after the URL was pushed.
    full = await (await client.get(nxt)).get_data(as_text=True)
    assert full.startswith("<!doctype html>") and card_titles(full) == ["Card 2", "Card 3"]
    assert '<meta name="robots" content="noindex, follow">' in full


async def test_bad_or_exhausted_cursor(client, db) -> None:
    await publish(db, "Only one")
    bad = await client.get("/?before=yesterday")
    assert bad.status_code == 400
    assert "could not be understood" in await bad.get_data(as_text=True)
    impossible = await client.get("/?before=20261399T000000.000000Z-1")
    assert impossible.status_code == 400
    # Past a 32-bit id, which PostgreSQL would refuse in the query (it was a 500 there).
    for too_big in ("2147483648", "490845808121563614"):
        huge = await client.get(f"/?before=20261201T000000.000000Z-{too_big}")
        assert huge.status_code == 400, too_big
        api = await client.get(f"/api/posts?before=20261201T000000.000000Z-{too_big}")
        assert api.status_code in (400, 422), too_big
    largest = await client.get("/?before=20261201T000000.000000Z-2147483647")
    assert largest.status_code == 200
    past_the_end = await client.get("/?before=19990101T000000.000000Z-1")
    assert past_the_end.status_code == 200
    assert "There are no older posts." in await past_the_end.get_data(as_text=True)


def test_cursor_round_trip() -> None:
    cursor = posts.Cursor(utcnow(), 42)
    assert posts.Cursor.parse(str(cursor)) == cursor
    for junk in ("", "1-2", "20260101T000000.000000Z-", "20260101T000000Z-1", "x" * 500):
        assert posts.Cursor.parse(junk) is None


async def test_cards_show_tags_comment_count_and_reading_time(client, db) -> None:
    from components.models import Comment, CommentStatus

    post = await publish(db, "Talked about", tags=["Python"], body="word " * 700)
    for status in (CommentStatus.APPROVED, CommentStatus.APPROVED, CommentStatus.SPAM):
        db.add(Comment(post_id=post.id, author_name="A", body="x", body_html="x", status=status))
    await db.commit()
    page = await (await client.get("/")).get_data(as_text=True)
    assert "2 comments" in page, "spam is not counted"
    assert "4 min read" in page
    assert '<a class="tag" href="/tags/python">#Python</a>' in page


async def test_post_page_has_contents_neighbours_and_share_bar(client, db) -> None:
    older = await publish(db, "The older one", days_ago=3)
    body = "Intro.\n\n## First part\n\nText.\n\n### A detail\n\nMore.\n\n## Second part\n\nEnd."
    post = await publish(db, "Middle post", days_ago=2, body=body, description="About things")
    newer = await publish(db, "The newer one", days_ago=1)
    page = await (await client.get(post_address(post))).get_data(as_text=True)
    assert '<nav class="toc"' in page
    assert '<a href="#first-part"' in page and '<a href="#a-detail"' in page
    # Sections are numbered 1, 2 with the subsection's bullet between them, not 1, 3.
    assert '<li class="toc-h2" value="2"><a href="#second-part"' in page
    assert '<li class="toc-h3"><a href="#a-detail"' in page
    assert f'<a class="newer" rel="prev" href="{post_address(newer)}">' in page
    assert f'<a class="older" rel="next" href="{post_address(older)}">' in page
    assert 'class="share"' in page and 'data-copy-url="http://localhost' in page
    for host in ("s2f.kytta.dev", "bsky.app", "linkedin.com", "news.ycombinator.com", "mailto:"):
        assert host in page
    # No third-party script: every script is our own and served from /static.
    assert re.findall(r"<script src=\"(?!/static/)", page) == []

    short = await (await client.get(post_address(older))).get_data(as_text=True)
    assert '<nav class="toc"' not in short
    assert 'class="newer"' in short and 'class="older"' not in short


async def test_share_bar_can_be_switched_off(client, db) -> None:
    post = await publish(db, "Private-ish", share_enabled=False)
    page = await (await client.get(post_address(post))).get_data(as_text=True)
    assert 'class="share"' not in page and "data-copy-url" not in page


async def test_post_page_metadata(client, db) -> None:
    post = await publish(db, 'Title with "quotes" & </script>', description="Short summary")
    page = await (await client.get(post_address(post))).get_data(as_text=True)
    url = f"http://localhost{post_address(post)}"
    assert f'<link rel="canonical" href="{url}">' in page
    assert f'<meta property="og:url" content="{url}">' in page
    assert '<meta property="og:type" content="article">' in page
    assert '<meta name="twitter:card" content="summary">' in page
    assert '<meta name="description" content="Short summary">' in page
    start = page.index('<script type="application/ld+json">') + len(
        '<script type="application/ld+json">'
    )
    raw = page[start : page.index("</script>", start)]
    assert "</script" not in raw.lower()
    data = json.loads(raw)
    assert data["@type"] == "BlogPosting"
    assert data["headline"] == post.title and data["url"] == url
    assert data["datePublished"].startswith(post.published_at.date().isoformat())


async def test_jekyll_addresses_and_former_slugs_redirect(client, db) -> None:
    post = await publish(db, "Moved around")
    canonical = post_address(post)
    response = await client.get(canonical + ".html")
    assert response.status_code == 301 and response.headers["Location"].endswith(canonical)

    wrong_day = await client.get(f"/2001/01/01/{post.slug}")
    assert wrong_day.status_code == 301 and wrong_day.headers["Location"].endswith(canonical)

    db.add(Redirect(path="/2020/05/05/old-name", post_id=post.id))
    db.add(Redirect(path="/blog/moved-around/", post_id=post.id))
    await db.commit()
    for old in ("/2020/05/05/old-name", "/2020/05/05/old-name.html", "/blog/moved-around/"):
        moved = await client.get(old)
        assert moved.status_code == 301, old
        assert moved.headers["Location"].endswith(canonical), old


async def test_redirects_never_reveal_drafts(client, db: AsyncSession) -> None:
    draft = await write_post(db, title="Secret draft", body="x")
    db.add(Redirect(path="/old/secret", post_id=draft.id))
    await db.commit()
    today = f"{utcnow():%Y/%m/%d}"
    for path in ("/old/secret", f"/{today}/{draft.slug}.html"):
        assert (await client.get(path)).status_code == 404, path


async def test_tags_page_counts_visible_posts_only(client, db) -> None:
    await publish(db, "One", tags=["Python", "SQL"])
    await publish(db, "Two", tags=["python"])
    await write_post(db, title="Draft", body="x", tags=["Python", "Hidden"])
    await db.commit()
    response = await client.get("/tags")
    page = await response.get_data(as_text=True)
    assert '<a href="/tags/python">#Python</a> <span class="count">2 posts</span>' in page
    assert '<a href="/tags/sql">#SQL</a> <span class="count">1 post</span>' in page
    assert "Hidden" not in page
    fragment = await (await client.get("/tags", headers=PARTIAL)).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="tags"') and "<html" not in fragment


async def test_tag_page_paginates_like_home(app, client, db) -> None:
    app.config["POSTS_PER_PAGE"] = 2
    for number in range(3):
        await publish(db, f"Tagged {number}", days_ago=number + 1, tags=["Rust"])
    await publish(db, "Untagged", days_ago=0.5)
    await write_post(db, title="Draft only", body="x", tags=["Secret"])
    await db.commit()
    first = await (await client.get("/tags/rust")).get_data(as_text=True)
    assert "Posts tagged" in first and card_titles(first) == ["Tagged 0", "Tagged 1"]
    nxt = older_link(first)
    assert nxt is not None and nxt.startswith("/tags/rust?before=")
    second = await (await client.get(nxt, headers=PARTIAL)).get_data(as_text=True)
    assert card_titles(second) == ["Tagged 2"] and older_link(second) is None
    assert (await client.get("/tags/nope")).status_code == 404
    assert (await client.get("/tags/secret")).status_code == 404
    # Nor on a later page: a cursor must not tell a tag on drafts from no tag at all.
    cursor = nxt.split("before=")[1]
    assert (await client.get(f"/tags/secret?before={cursor}")).status_code == 404
    assert (await client.get(f"/tags/nope?before={cursor}")).status_code == 404


async def test_archive_groups_by_year_and_month(client, db) -> None:
    await publish(db, "Winter", published_at=utcnow().replace(year=2024, month=1, day=15))
    await publish(db, "Spring", published_at=utcnow().replace(year=2024, month=4, day=2))
    await publish(db, "Recent", published_at=utcnow().replace(year=2025, month=4, day=9))
    await write_post(db, title="Unpublished", body="x")
    await db.commit()
    page = await (await client.get("/archive")).get_data(as_text=True)
    order = [
        page.index(s)
        for s in (
            '<h2 id="y2025">',
            "April 2025",
            "Recent",
            '<h2 id="y2024">',
            "April 2024",
            "Spring",
            "January 2024",
            "Winter",
        )
    ]
    assert order == sorted(order)
    assert "Unpublished" not in page
    fragment = await (await client.get("/archive", headers=PARTIAL)).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="archive"')


@pytest.mark.parametrize("per_page", [5, 50])
async def test_each_page_costs_a_fixed_number_of_statements(
    app, client, db, sql, per_page, backend
) -> None:
    app.config["POSTS_PER_PAGE"] = per_page
    for number in range(per_page + 1):
        await publish(db, f"Post {number}", days_ago=number + 1, tags=[f"t{number % 7}", "all"])
    first = await (await client.get("/")).get_data(as_text=True)
    nxt = older_link(first)
    assert nxt is not None
    middle = await posts.find_visible(db, "post-3")
    assert middle is not None
    # Each page's own queries, plus one read of the content clock; once kept, the clock alone.
    costs = {
        "/": 3,
        nxt: 3,
        "/tags": 2,
        "/tags/all": 4,
        "/archive": 2,
        post_address(middle.post): 5,
        "/feed.xml": 3,
        "/sitemap.xml": 5,  # posts, tags, authors, series
        # On PostgreSQL, a search first has its plans made for its own words.
        "/search?q=post": 3 if backend == "postgresql" else 2,
    }
    for path, expected in costs.items():
        app.extensions[PAGES].clear()
        sql.clear()
        response = await client.get(path)
        assert response.status_code == 200, path
        assert sql.count == expected, (path, sql.statements)
        sql.clear()
        assert (await client.get(path)).status_code == 200
        assert sql.count == 1, (path, sql.statements)
        sql.clear()
        revalidated = await client.get(path, headers={"If-None-Match": response.headers["ETag"]})
        assert revalidated.status_code == 304
        assert sql.count == 1, (path, sql.statements)


async def test_list_queries_use_indexes(app, client, db, sql, backend) -> None:
    """Run every statement the reading pages send through the planner: no table scans."""
    app.config["POSTS_PER_PAGE"] = 3
    for number in range(8):
        await publish(db, f"Post {number}", days_ago=number + 1, tags=["common", f"t{number}"])
    first = await (await client.get("/")).get_data(as_text=True)
    middle = await posts.find_visible(db, "post-4")
    assert middle is not None
    sql.clear()
    for path in (
        "/",
        older_link(first),
        "/tags",
        "/tags/common",
        "/archive",
        post_address(middle.post),
        "/search?q=post",
        "/feed.xml",
        "/tags/common/feed.xml",
        "/sitemap.xml",
    ):
        assert (await client.get(path)).status_code == 200
    captured = list(zip(sql.statements, sql.parameters, strict=True))
    connection = await db.connection()
    if backend == "postgresql":
        await connection.exec_driver_sql("SET enable_seqscan = off")
    prefix = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
    for statement, parameters in captured:
        plan = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
        lines = [str(row[-1]) for row in plan]
        if backend == "sqlite":
            # A statement's own materialized results (the search's CTEs, and the rows a
            # window function numbers, "(subquery-N)") are no tables.
            made = {line.split()[1] for line in lines if line.startswith("MATERIALIZE ")}
            scans = [
                line
                for line in lines
                if line.startswith("SCAN")
                and " USING " not in line
                and "VIRTUAL TABLE" not in line
                and line.split()[1] not in made
                and not line.startswith("SCAN (subquery-")
            ]
            # Listing all tags reads the small tags table whole; nothing else may. A
            # constant row is a SELECT without a table (the clock's newest publication).
            scans = [line for line in scans if line not in ("SCAN tags", "SCAN CONSTANT ROW")]
        else:
            scans = [line for line in lines if "Seq Scan" in line]
        assert scans == [], (statement, lines)
    if backend == "postgresql":
        await connection.exec_driver_sql("RESET enable_seqscan")


async def test_every_content_write_moves_the_clock_behind_last_modified(client, db) -> None:
    from email.utils import parsedate_to_datetime

    from components import clock
    from components.models import SiteState

    async def version() -> int:
        return await db.scalar(select(SiteState.version).where(SiteState.id == 1)) or 0

    before = await version()
    post = await publish(db, "Clocked")
    after_create = await version()
    assert after_create > before
    redirect = Redirect(path="/old/clocked", post_id=post.id)
    db.add(redirect)
    await db.commit()
    assert await version() == after_create + 1
    await db.delete(redirect)
    await db.commit()
    assert await version() == after_create + 2
    await db.get(SiteState, 1)  # reading moves nothing
    await db.commit()
    assert await version() == after_create + 2

    response = await client.get("/")
    changed = await clock.last_changed(db)
    assert parsedate_to_datetime(response.headers["Last-Modified"]) == changed.replace(
        microsecond=0
    )
    stale = await client.get("/", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert stale.status_code == 200
    fresh = await client.get("/", headers={"If-Modified-Since": response.headers["Last-Modified"]})
    assert fresh.status_code == 304
