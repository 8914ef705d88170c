"""Feeds, the sitemap, robots.txt, and absolute addresses behind a proxy."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from datetime import timedelta

import feedparser
from sqlalchemy import update

from components.models import Post, PostStatus, SiteState, utcnow
from web import create_app

from .conftest import app_config, post_address, write_post
from .test_pages import publish

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


async def test_atom_feed_is_valid_and_carries_full_content(client, db) -> None:
    await publish(db, "Older & wiser", days_ago=2, body="First *post*.", tags=["Python"])
    newest = await publish(
        db, "Newest <post>", days_ago=1, body="## Part\n\nSee [below](#part).", description="D"
    )
    await write_post(db, title="Draft in feed?", body="x")
    await publish(
        db, "Future", published_at=utcnow() + timedelta(days=1), status=PostStatus.SCHEDULED
    )
    response = await client.get("/feed.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    parsed = feedparser.parse(await response.get_data())
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed.title == "Quire"
    assert [entry.title for entry in parsed.entries] == ["Newest <post>", "Older & wiser"]
    first = parsed.entries[0]
    assert first.link == f"http://localhost{post_address(newest)}"
    assert first.id == first.link
    assert '<h2 id="part"' in first.content[0].value
    # The page's "#" link after each heading is left out of the feed.
    assert "heading-anchor" not in first.content[0].value
    assert ">#<" not in first.content[0].value
    assert first.summary == "D"
    assert parsed.entries[1].tags[0].term == "python"
    assert "<em>post</em>" in parsed.entries[1].content[0].value
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    again = await client.get("/feed.xml", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


async def test_tag_feed_lists_only_that_tag(client, db) -> None:
    await publish(db, "Tagged", tags=["Rust"])
    await publish(db, "Not tagged")
    response = await client.get("/tags/rust/feed.xml")
    parsed = feedparser.parse(await response.get_data())
    assert not parsed.bozo
    assert [entry.title for entry in parsed.entries] == ["Tagged"]
    assert parsed.feed.title == "#Rust · Quire"
    assert (await client.get("/tags/nothing/feed.xml")).status_code == 404
    await write_post(db, title="Draft", body="x", tags=["Secret"])
    await db.commit()
    assert (await client.get("/tags/secret/feed.xml")).status_code == 404
    page = await (await client.get("/tags/rust")).get_data(as_text=True)
    assert 'type="application/atom+xml"' in page and 'href="/tags/rust/feed.xml"' in page


async def test_every_page_links_the_feed(client) -> None:
    page = await (await client.get("/")).get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml" title="Quire" href="/feed.xml">' in (
        page
    )


async def test_sitemap_lists_public_addresses(client, db) -> None:
    post = await publish(db, "Mapped", tags=["Maps"])
    await write_post(db, title="Unmapped draft", body="x", tags=["Secret"])
    await db.commit()
    response = await client.get("/sitemap.xml")
    assert response.status_code == 200
    root = ET.fromstring(await response.get_data())
    locations = [loc.text for loc in root.iter(f"{SITEMAP_NS}loc")]
    assert f"http://localhost{post_address(post)}" in locations
    assert "http://localhost/tags/maps" in locations
    assert "http://localhost/" in locations
    assert not any("secret" in (loc or "") or "unmapped" in (loc or "") for loc in locations)


async def test_a_scheduled_post_going_live_is_news_to_a_revalidating_client(client, db) -> None:
    """Nothing is written when a scheduled post's time comes, yet every list has changed."""
    await publish(db, "Old news", days_ago=3)
    live_at = utcnow() + timedelta(seconds=1.5)
    scheduled = await publish(db, "Just in", published_at=live_at, status=PostStatus.SCHEDULED)
    # The last write, including the post's own, was an hour ago.
    an_hour_ago = utcnow() - timedelta(hours=1)
    await db.execute(update(SiteState).values(changed_at=an_hour_ago))
    await db.execute(update(Post).values(updated_at=an_hour_ago))
    await db.commit()
    paths = ("/", "/feed.xml", "/sitemap.xml")
    before = {path: (await client.get(path)).headers["Last-Modified"] for path in paths}
    for path, stamp in before.items():
        still = await client.get(path, headers={"If-Modified-Since": stamp})
        assert still.status_code == 304, path

    await asyncio.sleep((live_at - utcnow()).total_seconds() + 0.1)

    for path, stamp in before.items():
        response = await client.get(path, headers={"If-Modified-Since": stamp})
        assert response.status_code == 200, path
        assert scheduled.slug in await response.get_data(as_text=True), path
    feed = feedparser.parse(await (await client.get("/feed.xml")).get_data())
    assert feed.entries[0].title == "Just in"
    assert feed.entries[0].updated == feed.entries[0].published
    sitemap = ET.fromstring(await (await client.get("/sitemap.xml")).get_data())
    dated = {
        url.findtext(f"{SITEMAP_NS}loc"): url.findtext(f"{SITEMAP_NS}lastmod")
        for url in sitemap.iter(f"{SITEMAP_NS}url")
    }
    assert dated[f"http://localhost{post_address(scheduled)}"] == f"{live_at:%Y-%m-%dT%H:%M:%SZ}"


async def test_robots_txt_points_at_the_sitemap(client) -> None:
    response = await client.get("/robots.txt")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.get_data(as_text=True)
    assert "User-agent: *" in text and "Sitemap: http://localhost/sitemap.xml" in text


async def test_forwarded_headers_ignored_unless_configured(client, db) -> None:
    post = await publish(db, "Behind a proxy")
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "blog.example"}
    page = await (await client.get(post_address(post), headers=forwarded)).get_data(as_text=True)
    assert f'<link rel="canonical" href="http://localhost{post_address(post)}">' in page


async def test_forwarded_headers_trusted_from_configured_proxy(database_url, tmp_path, db) -> None:
    post = await publish(db, "Behind a proxy")
    app = create_app(app_config(database_url, tmp_path / "instance", QUIRE_PROXY_HOPS="1"))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        headers = {
            "X-Forwarded-Proto": "spoofed, https",
            "X-Forwarded-Host": "evil.example, blog.example",
        }
        page = await (await client.get(post_address(post), headers=headers)).get_data(as_text=True)
        feed = await (await client.get("/feed.xml", headers=headers)).get_data(as_text=True)
    # Only the last hop, the one our proxy added, is believed.
    assert f'<link rel="canonical" href="https://blog.example{post_address(post)}">' in page
    assert "evil.example" not in page and "https://blog.example/feed.xml" in feed
