"""The settings page, the settings on every page, and one origin for every link."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components import site
from components.models import Post, PostStatus, SiteSettings, User
from tests.conftest import TEST_PASSWORD, app_config, post_address, post_form, sign_in, write_post
from web import create_app

EVIL = {"Host": "evil.example"}
BASE = "https://blog.example"
PUBLIC = (
    "/",
    "/tags",
    "/tags/sql",
    "/archive",
    "/feed.xml",
    "/tags/sql/feed.xml",
    "/sitemap.xml",
    "/robots.txt",
    "/api/posts",
    "/search?q=tables",
)


async def publish(db: AsyncSession, title: str = "Tables and indexes") -> Post:
    post = await write_post(
        db, title=title, body="About tables.", status=PostStatus.PUBLISHED, tags=["sql"]
    )
    await db.commit()
    return post


async def text(response: Any) -> str:
    return await response.get_data(as_text=True)


@pytest.fixture
async def based(database_url: str, tmp_path: Path) -> Any:
    """A client of an app whose base URL comes from the environment."""
    app = create_app(app_config(database_url, tmp_path / "instance", QUIRE_BASE_URL=BASE))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        client.app = app
        yield client


# --- the settings page --------------------------------------------------------


async def test_only_admins_see_the_settings(client, author: User, admin: User) -> None:
    anonymous = await client.get("/admin/settings/")
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["Location"]
    await sign_in(client, author.email)
    assert (await client.get("/admin/settings/")).status_code == 403
    refused = await post_form(client, "/admin/settings/", {"title": "Mine"})
    assert refused.status_code == 403
    assert "Settings</a>" not in await text(await client.get("/admin/"))


async def test_an_admin_saves_and_every_page_shows_it(client, db, admin: User) -> None:
    await publish(db)
    await sign_in(client, admin.email)
    page = await text(await client.get("/admin/settings/"))
    assert 'name="title" value="Quire"' in page
    saved = await post_form(
        client,
        "/admin/settings/",
        {
            "title": "Query Plans",
            "description": "Notes on <databases>.",
            "language": "en-GB",
            "base_url": "",
            "footer": "Text under CC BY 4.0",
            "comments_default": "on",
        },
    )
    assert saved.status_code == 303
    assert saved.headers["Location"].endswith("/admin/settings/?saved=1")
    assert "Settings saved" in await text(await client.get(saved.headers["Location"]))
    home = await text(await client.get("/"))
    assert '<html lang="en-GB">' in home
    assert '<a class="site-title" href="/">Query Plans</a>' in home
    assert '<meta name="description" content="Notes on &lt;databases&gt;.">' in home
    assert "Text under CC BY 4.0" in home
    feed = await text(await client.get("/feed.xml"))
    assert "<title>Query Plans</title>" in feed


async def test_a_refused_save_changes_nothing_and_names_the_fields(client, db, admin) -> None:
    await site.save(db, {"title": "Kept", "language": "fr"})
    await db.commit()
    await sign_in(client, admin.email)
    refused = await post_form(
        client,
        "/admin/settings/",
        {"title": "Changed", "language": "French", "base_url": "https://a.example/blog"},
    )
    assert refused.status_code == 422
    page = await text(refused)
    assert "Language must be a language tag" in page
    assert "Address (base URL) must be http(s)://host[:port] without a path" in page
    assert 'value="French"' in page  # shown again, to be corrected
    db.expire_all()
    row = await db.scalar(select(SiteSettings))
    assert row is not None and (row.title, row.language) == ("Kept", "fr")
    fragment = await post_form(
        client,
        "/admin/settings/",
        {"title": ""},
        headers={"HX-Request": "true", "HX-Request-Type": "partial"},
    )
    assert fragment.status_code == 422
    body = await text(fragment)
    assert body.lstrip().startswith('<div id="settings"') and "Title must not be empty." in body


async def test_the_environment_wins_and_the_page_says_so(database_url, tmp_path, db, admin) -> None:
    await site.save(db, {"title": "From the page", "footer": "Saved footer"})
    await db.commit()
    app = create_app(
        app_config(database_url, tmp_path / "instance", QUIRE_SITE_TITLE="From the platform")
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        await sign_in(client, admin.email)
        page = await text(await client.get("/admin/settings/"))
        assert "Set by <code>QUIRE_SITE_TITLE</code> in the environment" in page
        assert re.search(r'name="title" value="From the platform"\s+type="text"[^>]*disabled', page)
        await post_form(
            client,
            "/admin/settings/",
            {"title": "Ignored", "footer": "New footer", "language": "en"},
        )
        home = await text(await client.get("/"))
        assert "From the platform" in home and "Ignored" not in home
        assert "New footer" in home


async def test_a_change_through_one_app_shows_on_the_next_request_to_another(
    database_url: str, tmp_path: Path, db: AsyncSession, admin: User
) -> None:
    await publish(db)
    one = create_app(app_config(database_url, tmp_path / "one"))
    other = create_app(app_config(database_url, tmp_path / "other"))
    async with one.test_app() as first, other.test_app() as second:
        reader = second.test_client()
        assert "<title>Quire</title>" in await text(await reader.get("/"))  # now kept
        writer = first.test_client()
        await sign_in(writer, admin.email)
        await post_form(writer, "/admin/settings/", {"title": "Renamed", "language": "en"})
        assert "<title>Renamed</title>" in await text(await reader.get("/"))


async def test_new_posts_take_the_default_for_comments(client, db, admin) -> None:
    await sign_in(client, admin.email)
    editor = await text(await client.get("/admin/posts/new"))
    assert re.search(r'name="comments_enabled" checked', editor)
    await site.save(db, {"comments_default": False})
    await db.commit()
    editor = await text(await client.get("/admin/posts/new"))
    assert not re.search(r'name="comments_enabled" checked', editor)


# --- one origin ---------------------------------------------------------------


async def test_without_a_base_url_links_follow_the_request(client, db) -> None:
    post = await publish(db)
    page = await text(await client.get(post_address(post), headers={"Host": "blog.example"}))
    assert f'<link rel="canonical" href="http://blog.example{post_address(post)}">' in page


async def test_another_host_is_sent_to_the_base_url(based, db) -> None:
    post = await publish(db)
    moved = await based.get(post_address(post) + "?reply_to=3", headers=EVIL)
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"{BASE}{post_address(post)}?reply_to=3"
    assert (await based.get("/", headers=EVIL)).headers["Location"] == f"{BASE}/"
    assert (await based.head("/feed.xml", headers=EVIL)).status_code == 301
    refused = await based.post(post_address(post) + "/comments", headers=EVIL, form={"body": "x"})
    assert refused.status_code == 400
    assert "https://blog.example" in await text(refused)
    # A platform's probe asks by the instance's own address.
    assert (await based.get("/healthz", headers=EVIL)).status_code == 200


async def test_no_answer_ever_names_another_host(based, db) -> None:
    post = await publish(db)
    paths = (*PUBLIC, post_address(post))
    for host in ("blog.example", "evil.example"):
        for path in paths:
            for _ in range(2):  # rendered, then kept
                response = await based.get(path, headers={"Host": host})
                body = await text(response)
                assert "evil.example" not in body, (host, path)
                assert "evil.example" not in str(response.headers), (host, path)
    # The links a reader's page holds are the base URL's, scheme included, even when
    # the request came over http (a router that ends TLS and says nothing).
    page = await text(await based.get(post_address(post), headers={"Host": "blog.example"}))
    assert f'<link rel="canonical" href="{BASE}{post_address(post)}">' in page
    assert f'<meta property="og:url" content="{BASE}{post_address(post)}">' in page
    feed = await text(await based.get("/feed.xml", headers={"Host": "blog.example"}))
    assert f'href="{BASE}{post_address(post)}"' in feed
    sitemap = await text(await based.get("/sitemap.xml", headers={"Host": "blog.example"}))
    assert f"<loc>{BASE}/</loc>" in sitemap
    api = await (await based.get("/api/posts", headers={"Host": "blog.example"})).get_json()
    assert api["posts"][0]["url"] == f"{BASE}{post_address(post)}"


async def test_a_base_url_saved_on_the_page_works_like_the_environment(client, db, admin) -> None:
    post = await publish(db)
    await site.save(db, {"base_url": "https://saved.example"})
    await db.commit()
    moved = await client.get(post_address(post))
    assert moved.status_code == 301
    assert moved.headers["Location"] == f"https://saved.example{post_address(post)}"
    page = await text(await client.get(post_address(post), headers={"Host": "saved.example"}))
    assert f'href="https://saved.example{post_address(post)}"' in page


async def test_forms_post_from_the_base_url_pass_the_origin_check(based, db, admin) -> None:
    await sign_in_at(based, admin.email)
    saved = await post_form(
        based,
        "/admin/settings/",
        {"title": "Over TLS", "language": "en"},
        headers={"Host": "blog.example", "Origin": BASE},
    )
    assert saved.status_code == 303, await text(saved)


async def sign_in_at(client: Any, email: str) -> None:
    response = await post_form(
        client,
        "/login",
        {"email": email, "password": TEST_PASSWORD},
        headers={"Host": "blog.example"},
    )
    assert response.status_code == 303, await text(response)


async def test_home_page_cards_and_json_ld(client, db) -> None:
    await publish(db)
    await site.save(db, {"description": "Query plans, explained."})
    await db.commit()
    home = await text(await client.get("/"))
    assert '<meta property="og:type" content="website">' in home
    assert '<meta property="og:description" content="Query plans, explained.">' in home
    assert '<meta name="twitter:card" content="summary">' in home
    assert '"@type": "WebSite"' in home
    for path in ("/tags", "/tags/sql", "/archive"):
        page = await text(await client.get(path))
        assert '<meta name="description"' in page, path
        assert '<meta property="og:title"' in page, path
