"""Standalone pages (About, Now, Uses) and the header's menu an admin sets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import Post, PostKind, Revision, SiteSettings, User
from tests.conftest import make_user, post_form, sign_in, write_post
from tests.test_site_web import text

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}


def page_form(**fields: Any) -> dict[str, Any]:
    return {"title": "About", "body": "Who writes here.", "action": "publish", "kind": "page"} | (
        fields
    )


async def stored(db: AsyncSession, slug: str) -> Post | None:
    db.expire_all()
    return await db.scalar(select(Post).where(Post.slug == slug))


@pytest.fixture
async def admin_client(client, admin: User) -> Any:
    await sign_in(client, admin.email)
    return client


# --- pages ------------------------------------------------------------------------


async def test_a_page_made_in_the_editor_stands_alone(admin_client, db: AsyncSession) -> None:
    client = admin_client
    new = await text(await client.get("/admin/posts/new?kind=page"))
    assert '<h1 class="page-title">New page</h1>' in new
    assert '<input type="hidden" name="kind" value="page">' in new
    saved = await post_form(client, "/admin/posts/save", page_form(body="## Me\n\nHello."))
    assert saved.status_code == 303, await text(saved)
    page = await stored(db, "about")
    assert page is not None and page.kind is PostKind.PAGE
    assert await db.scalar(select(func.count()).select_from(Revision)) == 1

    answer = await client.get("/about")
    assert answer.status_code == 200
    body = await text(answer)
    assert '<h1 class="p-name">About</h1>' in body and "Hello." in body
    assert '<link rel="canonical" href="http://localhost/about">' in body
    assert 'class="byline"' not in body

    # A post keeps its kind when saved again with a form that says otherwise.
    edited = await post_form(
        client,
        "/admin/posts/save",
        page_form(
            post_id=str(page.id),
            version=str(page.version),
            kind="post",
            title="About me",
            slug="about",
        ),
    )
    assert edited.status_code == 303
    assert (await stored(db, "about")).kind is PostKind.PAGE


async def test_pages_are_in_no_list_feed_tag_archive_search_or_api(
    admin_client, db: AsyncSession
) -> None:
    client = admin_client
    await post_form(client, "/admin/posts/save", page_form(title="Uses", tags="tools"))
    await post_form(
        client,
        "/admin/posts/save",
        {"title": "A real post", "body": "Uses tools.", "action": "publish", "tags": "tools"},
    )
    for path in ("/", "/archive", "/tags", "/tags/tools", "/feed.xml", "/search?q=uses"):
        body = await text(await client.get(path))
        assert 'href="/uses"' not in body and "<h2" not in body.split("Uses")[0][-40:], path
    api = await (await client.get("/api/posts")).get_json()
    assert [post["slug"] for post in api["posts"]] == ["a-real-post"]
    assert (await client.get("/api/posts/uses")).status_code == 404
    # Nor at a dated address; but the sitemap has it.
    page = await stored(db, "uses")
    assert (await client.get(f"/{page.published_at:%Y/%m/%d}/uses")).status_code == 404
    sitemap = await text(await client.get("/sitemap.xml"))
    assert "<loc>http://localhost/uses</loc>" in sitemap
    # The writers' list shows it, as a page, linking to its address.
    listed = await text(await client.get("/admin/"))
    assert 'href="/uses"' in listed


@pytest.mark.parametrize(
    "slug", ["admin", "api", "tags", "search", "static", "media", "authors", "login", "healthz"]
)
async def test_a_page_cannot_take_an_address_the_site_uses(admin_client, db, slug: str) -> None:
    refused = await post_form(admin_client, "/admin/posts/save", page_form(title="Mine", slug=slug))
    assert refused.status_code == 422
    body = await text(refused)
    assert f"The address /{slug} is the site&#39;s own (it serves /{slug}" in body
    assert await db.scalar(select(func.count()).select_from(Post)) == 0


async def test_a_page_cannot_take_a_posts_address(admin_client, db) -> None:
    await write_post(db, title="Hello", body="x")
    await db.commit()
    refused = await post_form(admin_client, "/admin/posts/save", page_form(title="Hello"))
    assert refused.status_code == 422
    assert "already used by “Hello”" in await text(refused)


async def test_drafts_and_unknown_pages_are_not_found(admin_client, db) -> None:
    await post_form(admin_client, "/admin/posts/save", page_form(title="Now", action="draft"))
    assert (await stored(db, "now")).kind is PostKind.PAGE
    assert (await admin_client.get("/now")).status_code == 404
    assert (await admin_client.get("/nothing-here")).status_code == 404


async def test_a_page_costs_the_same_statements_with_more_pages(
    client, db: AsyncSession, sql, admin: User
) -> None:
    async def cost() -> int:
        assert (await client.get("/tags")).status_code == 200  # this moment's settings
        sql.clear()
        assert (await client.get("/about")).status_code == 200
        return sql.count

    await sign_in(client, admin.email)
    await post_form(client, "/admin/posts/save", page_form())
    client.cookie_jar.clear()
    first = await cost()
    for number in range(4):
        await write_post(db, title=f"Other {number}", body="x")
    await db.commit()
    assert await cost() == first == 2  # the page and the content clock


# --- the menu ---------------------------------------------------------------------


async def save_menu(client: Any, menu: str) -> Any:
    return await post_form(
        client, "/admin/settings/", {"title": "Quire", "language": "en", "menu": menu}
    )


async def test_the_admin_sets_the_menu_and_the_header_shows_it(
    admin_client, db: AsyncSession
) -> None:
    client = admin_client
    await post_form(client, "/admin/posts/save", page_form())
    home = await text(await client.get("/"))
    assert re.search(r'<a href="/" aria-current="page">Posts</a>', home)
    saved = await save_menu(
        client, "About me /about\nPython /tags/python\n\nCode https://code.example/me"
    )
    assert saved.status_code == 303, await text(saved)
    about = await text(await client.get("/about"))
    nav = about[about.index('<nav aria-label="Site">') : about.index("</nav>")]
    links = re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>', nav)
    assert links == [
        ("/about", ' aria-current="page"', "About me"),
        ("/tags/python", "", "Python"),
        ("https://code.example/me", "", "Code"),
    ]
    settings = await text(await client.get("/admin/settings/"))
    assert "About me /about\nPython /tags/python\nCode https://code.example/me" in settings
    # Emptied, the default menu is back.
    assert (await save_menu(client, "")).status_code == 303
    assert ">Archive</a>" in await text(await client.get("/about"))


@pytest.mark.parametrize(
    ("menu", "error"),
    [
        ("Evil javascript:alert(1)", "line 1"),
        ("Fine /about\nData data:text/html,hi", "line 2"),
        ("Sneaky //evil.example/x", "neither a path on this site"),
        ("/about", "needs a label and an address"),
        ("\n".join(f"Entry{n} /e{n}" for n in range(13)), "at most 12 fit"),
    ],
)
async def test_a_bad_menu_is_refused_and_changes_nothing(
    admin_client, db: AsyncSession, menu: str, error: str
) -> None:
    assert (await save_menu(admin_client, "Kept /kept")).status_code == 303
    refused = await save_menu(admin_client, menu)
    assert refused.status_code == 422
    assert error in await text(refused)
    db.expire_all()
    row = await db.scalar(select(SiteSettings))
    assert row.menu == [{"label": "Kept", "url": "/kept"}]


async def test_the_menu_costs_nothing_per_entry(client, db: AsyncSession, sql, admin) -> None:
    await sign_in(client, admin.email)
    await save_menu(client, "\n".join(f"Entry{n} /e{n}" for n in range(12)))
    client.cookie_jar.clear()
    assert (await client.get("/tags")).status_code == 200
    sql.clear()
    assert (await client.get("/archive")).status_code == 200
    assert sql.count == 2, sql.statements  # the archive and the clock, as without a menu
    assert await make_user(db, "x@example.com", "X")
