"""The home and post pages, full or as htmx fragments, and what each costs in SQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from components import demo, posts
from components.models import PostStatus, utcnow
from tests.conftest import app_config, post_address, write_post
from web import create_app
from web.pages.store import PAGES

PARTIAL = {"HX-Request": "true", "HX-Request-Type": "partial", "HX-Target": "section#posts"}
BOOSTED = {"HX-Request": "true", "HX-Request-Type": "full", "HX-Boosted": "true"}
HISTORY_RESTORE = {"HX-History-Restore-Request": "true", "HX-Request-Type": "full"}


async def publish(db: AsyncSession, title: str, days_ago: float = 1, **fields) -> posts.Post:
    post = await write_post(
        db,
        title=title,
        body=fields.pop("body", f"The body of {title}."),
        status=fields.pop("status", PostStatus.PUBLISHED),
        published_at=fields.pop("published_at", utcnow() - timedelta(days=days_ago)),
        **fields,
    )
    await db.commit()
    return post


async def test_home_lists_published_demo_posts_newest_first(client, db) -> None:
    await demo.load(db)
    await db.commit()
    response = await client.get("/")
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    published = sorted(
        (d for d in demo.DEMO_POSTS if d.days_ago is not None), key=lambda d: d.days_ago
    )
    positions = [page.index(d.title) for d in published]
    assert positions == sorted(positions), "newest first"
    assert "Notes on SQLite" not in page, "the draft stays hidden"
    assert 'href="/' in page and "/reading-a-git-history-like-a-story" in page


async def test_empty_blog_says_so(client) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert "Nothing has been published yet." in await response.get_data(as_text=True)


async def test_card_falls_back_to_the_excerpt(client, db) -> None:
    await publish(db, "No description", body="Opening words here.\n\n## Later\n\nMore.")
    page = await (await client.get("/")).get_data(as_text=True)
    assert "Opening words here." in page


async def test_post_page_shows_rendered_markdown(client, db) -> None:
    post = await publish(
        db, "Code post", body="Intro.\n\n```python\nprint('hi')\n```\n", tags=["Python", "Tools"]
    )
    response = await client.get(post_address(post))
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert "<title>Code post · Quire</title>" in page
    assert '<span class="nb">print</span>' in page
    assert "#Python" in page and "#Tools" in page
    assert f'<link rel="canonical" href="http://localhost{post_address(post)}">' in page


async def test_drafts_future_posts_and_impossible_dates_are_404(client, db) -> None:
    draft = await write_post(db, title="A draft", body="x")
    future = await publish(
        db, "Later", published_at=utcnow() + timedelta(days=3), status=PostStatus.SCHEDULED
    )
    await db.commit()
    today = f"{utcnow():%Y/%m/%d}"
    for path in (
        f"/{today}/{draft.slug}",
        post_address(future),
        "/2026/02/30/anything",
        "/no/such/page",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "There is nothing at this address" in await response.get_data(as_text=True)


async def test_scheduled_post_appears_once_its_time_has_come(client, db) -> None:
    post = await publish(
        db,
        "Was scheduled",
        published_at=utcnow() - timedelta(minutes=1),
        status=PostStatus.SCHEDULED,
    )
    assert (await client.get(post_address(post))).status_code == 200


async def test_partial_request_gets_only_the_fragment(client, db) -> None:
    await publish(db, "Fragment post")
    response = await client.get("/", headers=PARTIAL)
    assert response.status_code == 200
    body = await response.get_data(as_text=True)
    assert body.lstrip().startswith('<article class="card">')
    assert "<html" not in body and "<section" not in body and "Fragment post" in body


async def test_boosted_and_history_restore_requests_get_the_full_page(client, db) -> None:
    await publish(db, "Full post")
    for headers in (BOOSTED, HISTORY_RESTORE, {}):
        response = await client.get("/", headers=headers)
        body = await response.get_data(as_text=True)
        assert body.startswith("<!doctype html>"), headers
        assert "Full post" in body


async def test_html_varies_on_htmx_headers_and_revalidates(client, db) -> None:
    await publish(db, "Cached post")
    response = await client.get("/")
    vary = {v.strip().lower() for v in response.headers["Vary"].split(",")}
    assert {"hx-request", "hx-request-type", "hx-boosted", "hx-history-restore-request"} <= vary
    cache = {part.strip() for part in response.headers["Cache-Control"].split(",")}
    assert cache == {"public", "max-age=0", "s-maxage=60"}
    assert response.headers["Last-Modified"]
    etag = response.headers["ETag"]
    again = await client.get("/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    fragment = await client.get("/", headers=PARTIAL)
    assert fragment.headers["ETag"] != etag


async def test_error_fragment_for_htmx(client) -> None:
    response = await client.get("/2020/01/01/missing", headers=PARTIAL)
    assert response.status_code == 404
    body = await response.get_data(as_text=True)
    assert body.lstrip().startswith('<section class="error"')


async def test_method_not_allowed_keeps_allow_header(client) -> None:
    response = await client.post("/")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


async def test_security_headers_on_every_response(client) -> None:
    for path in ("/", "/healthz", "/nowhere"):
        headers = (await client.get(path)).headers
        csp = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert "camera=()" in headers["Permissions-Policy"]


def assert_security_headers(headers, where: str) -> None:
    csp = headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp, where
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert "frame-ancestors 'none'" in csp, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", where
    assert "camera=()" in headers.get("Permissions-Policy", ""), where


async def test_security_headers_on_fragments_feeds_static_files_and_errors(client, db) -> None:
    await publish(db, "Headers everywhere")
    home = await client.get("/")
    after = (await home.get_data(as_text=True)).split('href="/static/css/')[1]
    css = "/static/css/" + after.split('"')[0]
    answers = {
        "fragment": await client.get("/", headers=PARTIAL),
        "feed": await client.get("/feed.xml"),
        "sitemap": await client.get("/sitemap.xml"),
        "api": await client.get("/api/posts"),
        "304": await client.get("/", headers={"If-None-Match": home.headers["ETag"]}),
        "404 fragment": await client.get("/2020/01/01/missing", headers=PARTIAL),
        "405": await client.post("/"),
        "431": await client.get("/", headers={"X-Big": "a" * 40_000}),
    }
    assert {name: r.status_code for name, r in answers.items()} == {
        "fragment": 200,
        "feed": 200,
        "sitemap": 200,
        "api": 200,
        "304": 304,
        "404 fragment": 404,
        "405": 405,
        "431": 431,
    }
    for name, response in answers.items():
        assert_security_headers(response.headers, name)
        assert "Strict-Transport-Security" not in response.headers  # development
    # A stylesheet or script obeys no document policy: it carries nosniff alone.
    for subresource in (css, "/static/vendor/htmx.min.js"):
        headers = (await client.get(subresource)).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "Content-Security-Policy" not in headers and "Permissions-Policy" not in headers
    svg = (await client.get("/static/favicon.svg")).headers
    assert_security_headers(svg, "an SVG, which is a document when opened alone")


async def test_production_adds_hsts(database_url, tmp_path) -> None:
    app = create_app({**app_config(database_url, tmp_path / "instance"), "QUIRE_ENV": "production"})
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for path in ("/", "/feed.xml", "/nowhere", "/healthz"):
            response = await client.get(path)
            assert_security_headers(response.headers, path)
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_pages_have_no_inline_scripts_or_styles(client, db) -> None:
    post = await publish(db, "Strict page", body="Some *text*.")
    for path in ("/", post_address(post), "/missing"):
        page = await (await client.get(path)).get_data(as_text=True)
        assert "<style" not in page and " style=" not in page
        assert "<script>" not in page and " on" + "click=" not in page


async def test_htmx_is_served_locally_with_a_fingerprint_and_long_cache(client) -> None:
    page = await (await client.get("/")).get_data(as_text=True)
    start = page.index('<script src="/static/vendor') + len('<script src="')
    src = page[start : page.index('"', start)]
    assert src.startswith("/static/vendor/htmx.min.js?v=")
    response = await client.get(src)
    assert response.status_code == 200
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert b"htmx" in await response.get_data()
    stale = await client.get("/static/vendor/htmx.min.js?v=old")
    assert "immutable" not in stale.headers.get("Cache-Control", "")


async def test_base_layout_boosts_navigation_with_explicit_inheritance(client) -> None:
    page = await (await client.get("/")).get_data(as_text=True)
    assert '<body data-hx-boost_inherited="true">' in page
    assert '"includeIndicatorCSS": false' in page


async def test_home_costs_three_statements_whatever_the_number_of_posts(
    app, client, db, sql
) -> None:
    for number in range(6):
        await publish(db, f"Post {number}", days_ago=number + 1, tags=[f"tag{number}", "common"])
    sql.clear()
    response = await client.get("/")
    assert response.status_code == 200
    # The posts (with their authors), all their tags in one query, the content clock for
    # Last-Modified, and the site's settings and default author, read once for each
    # moment of the content.
    assert sql.count == 5, sql.statements
    assert sum("site_settings" in statement for statement in sql.statements) == 2
    app.extensions[PAGES].clear()
    sql.clear()
    assert (await client.get("/")).status_code == 200
    assert sql.count == 3, sql.statements


async def test_post_page_costs_five_statements(client, db, sql) -> None:
    await publish(db, "Before", days_ago=3)
    post = await publish(db, "Counted", days_ago=2, tags=["a", "b"])
    await publish(db, "After", days_ago=1)
    assert (await client.get("/")).status_code == 200  # the settings of this moment
    sql.clear()
    assert (await client.get(post_address(post))).status_code == 200
    # The post, its tags, the older and the newer post, and the content clock.
    assert sql.count == 5, sql.statements


async def test_unexpected_errors_get_a_friendly_500_page_or_fragment(app) -> None:
    @app.get("/test/crash")
    async def crash() -> str:
        raise RuntimeError("secret detail")

    async with app.test_app() as test_app:
        client = test_app.test_client()
        full = await client.get("/test/crash")
        fragment = await client.get("/test/crash", headers=PARTIAL)
    assert full.status_code == fragment.status_code == 500
    page = await full.get_data(as_text=True)
    assert page.startswith("<!doctype html>") and "Internal Server Error" in page
    assert "secret detail" not in page
    assert full.headers["Cache-Control"] == "no-store"
    body = await fragment.get_data(as_text=True)
    assert body.lstrip().startswith('<section class="error"') and "<html" not in body


async def test_post_page_fragment_for_htmx(client, db) -> None:
    post = await publish(db, "Fragmented", body="## A\n\n## B\n\n## C\n\nText.")
    response = await client.get(post_address(post), headers=PARTIAL)
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<article class="post h-entry" id="post">')
    assert "<html" not in body and '<nav class="toc"' in body
