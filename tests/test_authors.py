"""Authors: bylines, author pages and feeds, profiles, and the site's default author."""

from __future__ import annotations

import importlib.util
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.datastructures import FileStorage

from components import accounts, authors
from components.models import AuthorProfile, Post, PostStatus, Role, User, utcnow
from components.site import save_default_author
from tests.conftest import (
    app_config,
    csrf_token,
    make_user,
    post_address,
    post_form,
    sign_in,
    write_post,
)
from tests.test_site_web import text
from web import create_app

# A byline on a post page and a card: the author as the post's h-card.
BYLINE = 'by <a class="p-author h-card" href="/authors/{slug}"'
PROJECT = Path(__file__).resolve().parent.parent


async def publish(db: AsyncSession, title: str, author: User | None, days_ago: float = 1) -> Post:
    post = await write_post(
        db,
        title=title,
        body=f"The body of {title}.",
        status=PostStatus.PUBLISHED,
        published_at=utcnow() - timedelta(days=days_ago),
        author=author,
    )
    await db.commit()
    return post


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 120), (30, 90, 160)).save(out, "PNG")
    return out.getvalue()


async def save_profile(client: Any, files: dict[str, Any] | None = None, **fields: str) -> Any:
    form = {"csrf_token": await csrf_token(client), "name": "", "slug": "", "bio": "", "links": ""}
    form.update(fields)
    return await client.post("/account/profile/", form=form, files=files or {})


def upload(data: bytes, filename: str) -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=filename, content_type="image/png")


# --- addresses ----------------------------------------------------------------


async def test_each_account_gets_its_own_address(db: AsyncSession) -> None:
    first = await make_user(db, "ada@example.com", "Ada Lovelace")
    second = await make_user(db, "ada2@example.com", "Ada Lovelace")
    third = await make_user(db, "x@example.com", "李白")
    assert (first.slug, second.slug) == ("ada-lovelace", "ada-lovelace-2")
    assert third.slug == "x"


def test_the_migration_gives_existing_accounts_distinct_addresses() -> None:
    path = PROJECT / "migrations" / "versions" / "20261205_0011_authors.py"
    spec = importlib.util.spec_from_file_location("authors_migration", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = [(1, "Ada", "a@x"), (2, "Ada", "b@x"), (3, "ada", "c@x"), (4, "!!", "dee@x")]
    assert module._slugs(rows) == {1: "ada", 2: "ada-2", 3: "ada-3", 4: "dee"}


# --- bylines and the default author -------------------------------------------------


async def test_posts_carry_their_author_everywhere(client, db: AsyncSession) -> None:
    ada = await make_user(db, "ada@example.com", "Ada Lovelace")
    post = await publish(db, "Engines", ada)
    byline = BYLINE.format(slug="ada-lovelace") + ' rel="author">Ada Lovelace</a>'
    assert byline in await text(await client.get("/"))
    page = await text(await client.get(post_address(post)))
    assert byline in page
    assert (
        '<meta property="article:author" content="http://localhost/authors/ada-lovelace">' in page
    )
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page)[1])
    assert ld["author"] == {
        "@type": "Person",
        "name": "Ada Lovelace",
        "url": "http://localhost/authors/ada-lovelace",
    }
    feed = await text(await client.get("/feed.xml"))
    assert (
        "<author><name>Ada Lovelace</name><uri>http://localhost/authors/ada-lovelace</uri></author>"
        in feed
    )
    listed = (await (await client.get("/api/posts")).get_json())["posts"][0]
    assert listed["author"] == {
        "name": "Ada Lovelace",
        "url": "http://localhost/authors/ada-lovelace",
    }
    detail = await (await client.get(f"/api/posts/{post.slug}")).get_json()
    assert detail["author"]["name"] == "Ada Lovelace"


async def test_posts_without_an_author_show_the_default_author(
    client, db: AsyncSession, admin: User, author: User
) -> None:
    orphan = await publish(db, "Imported long ago", None)
    # No author anywhere on a site without an admin would be None; here the first admin.
    page = await text(await client.get(post_address(orphan)))
    assert BYLINE.format(slug="grace-admin") in page
    await sign_in(client, admin.email)
    chosen = await post_form(
        client,
        "/admin/settings/",
        {"title": "Quire", "language": "en", "default_author": str(author.id)},
    )
    assert chosen.status_code == 303, await text(chosen)
    page = await text(await client.get(post_address(orphan)))
    assert BYLINE.format(slug="ada-author") in page
    refused = await post_form(
        client, "/admin/settings/", {"title": "Quire", "language": "en", "default_author": "999999"}
    )
    assert refused.status_code == 422
    assert "Choose the default author" in await text(refused)
    assert await authors.chosen_default(db) == author.id


async def test_a_site_without_admins_shows_no_byline_for_unattributed_posts(
    client, db: AsyncSession
) -> None:
    orphan = await publish(db, "Nobodys", None)
    page = await text(await client.get(post_address(orphan)))
    assert 'class="byline"' not in page
    listed = (await (await client.get("/api/posts")).get_json())["posts"][0]
    assert listed["author"] is None


# --- the author page and feed -------------------------------------------------------


async def test_an_author_page_lists_exactly_their_published_posts(
    database_url: str, tmp_path: Path, db: AsyncSession, admin: User, author: User
) -> None:
    app = create_app(app_config(database_url, tmp_path / "instance", QUIRE_POSTS_PER_PAGE="2"))
    theirs = [
        await publish(db, f"Adas {number}", author, days_ago=number + 1) for number in range(3)
    ]
    await publish(db, "Graces own", admin)
    await publish(db, "Unattributed", None)
    await write_post(db, title="Adas draft", body="x", author=author)
    await db.commit()
    async with app.test_app() as test_app:
        client = test_app.test_client()
        first = await client.get("/authors/ada-author")
        assert first.status_code == 200
        page = await text(first)
        assert '<h1 class="page-title">Ada Author</h1>' in page
        assert [t for t in ("Adas 0", "Adas 1") if t in page] == ["Adas 0", "Adas 1"]
        for absent in ("Adas 2", "Graces own", "Unattributed", "Adas draft"):
            assert absent not in page
        more = re.search(r'href="(/authors/ada-author\?before=[^"]+)" rel="next"', page)
        assert more, page
        second = await text(await client.get(more[1].replace("&amp;", "&")))
        assert "Adas 2" in second and "Adas 1" not in second and 'rel="next"' not in second

        # The default author's page also lists the posts that have no author.
        grace = await text(await client.get("/authors/grace-admin"))
        assert "Graces own" in grace and "Unattributed" in grace and "Adas 0" not in grace

        feed = await text(await client.get("/authors/ada-author/feed.xml"))
        assert feed.count("<entry>") == 3 and "Graces own" not in feed
        assert "<title>Ada Author · Quire</title>" in feed
        assert (await client.get("/authors/nobody")).status_code == 404
        assert (await client.get("/authors/nobody/feed.xml")).status_code == 404
        assert (await client.get("/authors/ada-author?before=junk")).status_code == 400
    assert len(theirs) == 3


async def test_author_pages_and_feeds_cost_the_same_statements_with_more_authors(
    client, db: AsyncSession, sql, admin: User, author: User
) -> None:
    await publish(db, "One", author, 3)
    await publish(db, "Two", admin, 2)
    await publish(db, "Three", None, 1)
    paths = ("/", "/authors/ada-author", "/authors/ada-author/feed.xml", "/feed.xml", "/api/posts")

    async def costs() -> dict[str, int]:
        assert (await client.get("/tags")).status_code == 200  # this moment's settings
        found = {}
        for path in paths:
            sql.clear()
            assert (await client.get(path)).status_code == 200, path
            found[path] = sql.count
        return found

    before = await costs()
    for number in range(4):
        other = await make_user(db, f"w{number}@example.com", f"Writer {number}")
        await publish(db, f"By writer {number}", other, 0.5)
    assert await costs() == before
    assert before["/authors/ada-author"] == 4, before  # author, posts, tags, clock
    assert before["/"] == 3


async def test_no_author_link_names_another_host(database_url: str, tmp_path: Path, db) -> None:
    ada = await make_user(db, "ada@example.com", "Ada Lovelace")
    await publish(db, "Engines", ada)
    app = create_app(
        app_config(database_url, tmp_path / "instance", QUIRE_BASE_URL="https://blog.example")
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for path in ("/authors/ada-lovelace", "/authors/ada-lovelace/feed.xml", "/api/posts"):
            answer = await client.get(path, headers={"Host": "blog.example"})
            body = await text(answer)
            assert answer.status_code == 200 and "https://blog.example/authors/ada-lovelace" in body
            evil = await client.get(path, headers={"Host": "evil.example"})
            assert evil.status_code == 301
            assert evil.headers["Location"].startswith("https://blog.example/")


# --- the profile --------------------------------------------------------------


async def test_a_writer_edits_their_profile_and_readers_see_it(
    client, db: AsyncSession, author: User
) -> None:
    post = await publish(db, "Engines", author)
    assert "Ada Author" in await text(await client.get("/authors/ada-author"))  # kept now
    await sign_in(client, author.email)
    saved = await save_profile(
        client,
        files={"avatar": upload(png(), "me.png")},
        name="Ada King",
        slug="Ada King",
        bio="Mathematician.\n\nWrote the first program.",
        links="https://mastodon.example/@ada\nhttps://github.com/ada\nhttps://github.com/ada",
    )
    assert saved.status_code == 303, await text(saved)
    assert "Profile saved" in await text(await client.get(saved.headers["Location"]))

    assert (await client.get("/authors/ada-author")).status_code == 404
    page = await text(await client.get("/authors/ada-king"))
    assert '<h1 class="page-title">Ada King</h1>' in page
    assert '<p class="author-bio">Mathematician.</p>' in page
    assert '<p class="author-bio">Wrote the first program.</p>' in page
    assert page.count('rel="me"') == 2
    assert '<a href="https://mastodon.example/@ada" rel="me">mastodon.example/@ada</a>' in page
    assert re.search(r'<img class="avatar" src="/media/[0-9a-f]{64}\.png"', page)
    byline = BYLINE.format(slug="ada-king") + ' rel="author">Ada King</a>'
    assert byline in await text(await client.get(post_address(post)))


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"links": "https://ok.example\njavascript:alert(1)"}, "Line 2"),
        ({"links": "data:text/html,hi"}, "is not an http(s) address"),
        ({"links": "\n".join(f"https://site{n}.example" for n in range(6))}, "At most 5 links"),
        ({"name": "   "}, "A name of 1 to 100 characters"),
        ({"slug": "---"}, "needs letters or digits"),
        ({"bio": "x" * 501}, "at most 500 characters"),
        ({"slug": "grace-admin"}, "belongs to someone else"),
    ],
)
async def test_a_refused_profile_changes_nothing(
    client, db: AsyncSession, admin: User, author: User, fields: dict[str, str], error: str
) -> None:
    await sign_in(client, author.email)
    good = {
        "name": "Ada Author",
        "slug": "ada-author",
        "bio": "Kept.",
        "links": "https://a.example",
    }
    assert (await save_profile(client, **good)).status_code == 303
    refused = await save_profile(client, **{**good, **fields})
    assert refused.status_code == 422
    page = await text(refused)
    assert error in page and "Nothing was saved" in page
    author_id = author.id
    db.expire_all()
    user = await db.scalar(select(User).where(User.id == author_id))
    profile = await db.scalar(select(AuthorProfile).where(AuthorProfile.user_id == author_id))
    assert (user.name, user.slug, profile.bio, profile.links) == (
        "Ada Author",
        "ada-author",
        "Kept.",
        ["https://a.example"],
    )


async def test_an_avatar_that_is_not_an_image_is_refused(
    client, db: AsyncSession, author: User
) -> None:
    await sign_in(client, author.email)
    refused = await save_profile(
        client, files={"avatar": upload(b"#!/bin/sh\necho hi\n", "me.png")}, name="Ada", slug="ada"
    )
    assert refused.status_code in (413, 422)
    assert "avatar-error" in await text(refused)
    author_id = author.id
    db.expire_all()
    assert (await db.scalar(select(User.name).where(User.id == author_id))) == "Ada Author"
    assert await db.scalar(select(AuthorProfile)) is None


async def test_the_profile_page_is_for_signed_in_writers(client) -> None:
    answer = await client.get("/account/profile/")
    assert answer.status_code == 303 and "/login" in answer.headers["Location"]
    assert (await post_form(client, "/account/profile/", {"name": "x"})).status_code == 401


async def test_a_renamed_admin_moves_the_clock_and_a_sign_in_does_not(
    db: AsyncSession, admin: User
) -> None:
    from components.clock import Reader

    reader = Reader(db.bind)
    try:
        before = await reader.read()
        await accounts.authenticate(db, admin.email, "x" * 20)
        await db.commit()
        assert await reader.read() == before
        user = await db.scalar(select(User).where(User.id == admin.id))
        user.name = "Grace Hopper"
        await db.commit()
        assert await reader.read() != before
    finally:
        await reader.close()


async def test_default_author_falls_back_when_the_chosen_one_is_deleted(
    db: AsyncSession, admin: User, author: User
) -> None:
    await save_default_author(db, author.id)
    await db.commit()
    assert (await authors.default_byline(db)).slug == "ada-author"
    await db.delete(await db.get(User, author.id))
    await db.commit()
    assert (await authors.default_byline(db)).slug == "grace-admin"
    promoted = await make_user(db, "z@example.com", "Zed", Role.ADMIN)
    assert (await authors.default_byline(db)).id != promoted.id


async def test_the_sitemap_lists_the_authors_with_visible_posts(
    client, db: AsyncSession, admin: User, author: User
) -> None:
    await publish(db, "Unattributed", None)
    await write_post(db, title="Draft", body="x", author=author)
    await make_user(db, "idle@example.com", "Idle Writer")
    sitemap = await text(await client.get("/sitemap.xml"))
    assert "<loc>http://localhost/authors/grace-admin</loc>" in sitemap  # the default author
    assert "/authors/ada-author" not in sitemap and "/authors/idle-writer" not in sitemap
    await publish(db, "Published", author)
    assert "<loc>http://localhost/authors/ada-author</loc>" in await text(
        await client.get("/sitemap.xml")
    )
