"""Private preview links: made by a post's writer in the editor, read by anyone holding
one, never indexed, expiring and revocable; the token stored only as its hash."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from components import previews
from components.models import Post, PostKind, PostStatus, PreviewLink, Role, User, utcnow

from .conftest import make_user, post_address, post_form, sign_in, write_post

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}
LINK = re.compile(r'value="(https?://[^"]+/preview/([A-Za-z0-9_-]+))"')
PRIVATE = {
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
}


async def text(response: Any) -> str:
    return await response.get_data(as_text=True)


async def links_of(db: AsyncSession, post: Post) -> list[PreviewLink]:
    found = await db.scalars(
        select(PreviewLink)
        .where(PreviewLink.post_id == post.id)
        .order_by(PreviewLink.id)
        .execution_options(populate_existing=True)
    )
    return list(found)


async def draft(db: AsyncSession, author: User | None, **fields: Any) -> Post:
    fields.setdefault("title", "Not yet")
    fields.setdefault("body", "A *secret* draft about caching.")
    post = await write_post(db, author=author, **fields)
    await db.commit()
    return post


async def make_link(client: Any, post: Post, **form: str) -> tuple[str, str]:
    """A new link through the editor's box: its full address and its token."""
    response = await post_form(client, f"/admin/posts/{post.id}/previews", form, headers=HTMX)
    assert response.status_code == 200, await text(response)
    found = LINK.search(await text(response))
    assert found is not None
    return found.group(1), found.group(2)


def path_of(url: str) -> str:
    return url[url.index("/preview/") :]


def private(response: Any) -> None:
    for name, value in PRIVATE.items():
        assert response.headers.get(name) == value, name


@pytest.fixture
async def writer(client: Any, author: User) -> User:
    await sign_in(client, "ada@example.com")
    return author


@pytest.fixture
async def reader(app: Any, client: Any) -> Any:
    """Another browser, signed in to nothing (the `client` fixture started the app)."""
    return app.test_client()


# --- making a link ------------------------------------------------------------------


async def test_a_link_is_shown_once_and_only_its_hash_is_stored(
    client, db: AsyncSession, writer: User
) -> None:
    post = await draft(db, writer)
    before = utcnow()
    response = await post_form(client, f"/admin/posts/{post.id}/previews", {"lifetime": "7"})
    assert response.status_code == 200
    page = await text(response)
    assert "<html" in page and "shown only this once" in page
    url, token = LINK.search(page).groups()  # type: ignore[union-attr]
    assert url.startswith("http://localhost/preview/")
    assert len(token) >= 43  # 256 bits, at least the 128 asked for
    # The answer holding the token is kept by no cache and sent to no other site.
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"

    [link] = await links_of(db, post)
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = " ".join(str(value) for value in vars(link).values())
    assert token not in stored
    assert timedelta(days=7) <= link.expires_at - before < timedelta(days=7, minutes=1)

    # Afterwards the editor lists it by its dates only: the token is nowhere.
    editor = await text(await client.get(f"/admin/posts/{post.id}/edit"))
    assert "Private preview links" in editor and "works until" in editor
    assert token not in editor


@pytest.mark.parametrize(("chosen", "days"), [("1", 1), ("30", 30), (None, 7)])
async def test_the_writer_picks_a_lifetime_a_week_unless_said(
    client, db: AsyncSession, writer: User, chosen: str | None, days: int
) -> None:
    post = await draft(db, writer)
    await make_link(client, post, **({"lifetime": chosen} if chosen else {}))
    [link] = await links_of(db, post)
    assert abs(link.expires_at - link.created_at - timedelta(days=days)) < timedelta(seconds=1)


@pytest.mark.parametrize("lifetime", ["3", "365", "seven", "-1"])
async def test_a_lifetime_not_offered_is_refused(
    client, db: AsyncSession, writer: User, lifetime: str
) -> None:
    post = await draft(db, writer)
    for headers in ({}, HTMX):
        response = await post_form(
            client, f"/admin/posts/{post.id}/previews", {"lifetime": lifetime}, headers=headers
        )
        assert response.status_code == 400
        assert "1, 7 or 30 days" in await text(response)
    assert await links_of(db, post) == []


async def test_htmx_gets_the_box_alone_and_a_plain_post_the_whole_page(
    client, db: AsyncSession, writer: User
) -> None:
    post = await draft(db, writer)
    fragment = await text(
        await post_form(client, f"/admin/posts/{post.id}/previews", {"lifetime": "1"}, headers=HTMX)
    )
    assert fragment.lstrip().startswith('<fieldset id="preview-links"')
    assert "<html" not in fragment and "<h1" not in fragment
    page = await text(await post_form(client, f"/admin/posts/{post.id}/previews", {}))
    assert "<html" in page and '<h1 class="page-title">Preview links</h1>' in page
    assert page.count('id="preview-links"') == 1
    listed = await client.get(f"/admin/posts/{post.id}/previews")
    assert listed.status_code == 200
    assert (await text(listed)).count("Revoke<span") == 2


async def test_the_editor_of_a_saved_post_has_the_box(client, db: AsyncSession, writer) -> None:
    post = await draft(db, writer)
    editor = await text(await client.get(f"/admin/posts/{post.id}/edit"))
    # Inside the editor's form: its buttons post elsewhere, and Save stays the default.
    box = editor.index('id="preview-links"')
    assert editor.index('<form id="editor"') < box < editor.index("</form>", box)
    assert editor.index('value="draft">') < box
    assert f'formaction="/admin/posts/{post.id}/previews"' in editor
    assert "No live links." in editor
    # A new post has only the place where its first save puts the box.
    new = await text(await client.get("/admin/posts/new"))
    assert '<div id="preview-links" hidden></div>' in new and "lifetime" not in new


async def test_a_save_swaps_the_box_only_when_the_post_appears_or_goes_public(
    client, db: AsyncSession, writer: User
) -> None:
    box = '<hx-partial data-hx-target="#preview-links"'
    fields = {"title": "Fresh", "body": "Text.", "editor": "e1"}
    first = await text(await post_form(client, "/admin/posts/autosave", fields, headers=HTMX))
    assert box in first and 'name="lifetime"' in first  # the new post's box appears
    post = await db.scalar(select(Post).where(Post.slug == "fresh"))
    assert post is not None
    await make_link(client, post)
    fields |= {"post_id": str(post.id), "version": str(post.version)}

    async def save(**more: str) -> str:
        return await text(await post_form(client, "/admin/posts/save", fields | more, headers=HTMX))

    # Autosaves and saves that leave it a draft keep the box (and a link just shown).
    autosaved = await post_form(
        client, "/admin/posts/autosave", fields | {"body": "More."}, headers=HTMX
    )
    assert box not in await text(autosaved)
    assert box not in await save(action="draft")
    published = await save(action="publish")
    assert box in published and "Readers can see this post now" in published
    assert 'name="lifetime"' not in published
    assert box in await save(action="draft")


async def test_a_public_post_gets_no_new_link(client, db: AsyncSession, writer: User) -> None:
    post = await draft(db, writer, status=PostStatus.PUBLISHED)
    response = await post_form(client, f"/admin/posts/{post.id}/previews", {"lifetime": "7"})
    assert response.status_code == 409
    assert "already public" in await text(response)
    assert await links_of(db, post) == []
    editor = await text(await client.get(f"/admin/posts/{post.id}/edit"))
    assert "Share that instead" in editor
    assert 'name="lifetime"' not in editor


async def test_a_post_has_at_most_twenty_live_links(client, db: AsyncSession, writer) -> None:
    post = await draft(db, writer)
    for _ in range(previews.MAX_LINKS):
        await previews.create(db, post)
    await db.commit()
    response = await post_form(client, f"/admin/posts/{post.id}/previews", {}, headers=HTMX)
    assert response.status_code == 409
    assert "revoke one first" in await text(response)
    # Expired ones do not count, and go when the next link is made.
    await db.execute(
        update(PreviewLink)
        .where(PreviewLink.post_id == post.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.commit()
    await make_link(client, post)
    assert len(await links_of(db, post)) == 1


# --- reading a preview --------------------------------------------------------------


async def test_anyone_holding_the_link_reads_the_last_saved_text(
    client, reader, db: AsyncSession, writer: User
) -> None:
    post = await draft(db, writer, tags=["Python"], description="What we cache.")
    url, _ = await make_link(client, post)
    response = await reader.get(path_of(url))
    assert response.status_code == 200
    private(response)
    page = await text(response)
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert "Private preview." in page and "is a draft" in page
    assert "<title>Preview: Not yet · Quire</title>" in page
    assert "A <em>secret</em> draft" in page
    assert "by <a" in page and "Ada Author" in page and "#Python" in page

    # A save changes what the link shows: it is the post, not a copy.
    saved = await post_form(
        client,
        "/admin/posts/save",
        {
            "post_id": str(post.id),
            "version": str(post.version),
            "title": "Not yet",
            "body": "Second *take*.",
        },
    )
    assert saved.status_code == 303
    assert "Second <em>take</em>." in await text(await reader.get(path_of(url)))


async def test_a_preview_has_no_comments_shares_or_links_to_follow(
    client, reader, db: AsyncSession, writer: User
) -> None:
    post = await draft(db, writer, comments_enabled=True, share_enabled=True)
    url, _ = await make_link(client, post)
    page = await text(await reader.get(path_of(url)))
    for absent in (
        'rel="webmention"',
        "activity+json",
        'class="share"',
        "Copy link",
        "comment-form",
        'id="comments"',
        'property="og:',
        "application/ld+json",
    ):
        assert absent not in page, absent
    # Rendering it changed nothing: the draft is still a draft, undated, shareable.
    await db.refresh(post)
    assert post.status is PostStatus.DRAFT and post.published_at is None
    assert post.share_enabled


async def test_pages_and_scheduled_posts_preview_too(
    client, reader, db: AsyncSession, writer: User
) -> None:
    soon = utcnow() + timedelta(days=2)
    scheduled = await draft(
        db, writer, title="Soon", status=PostStatus.SCHEDULED, published_at=soon
    )
    url, _ = await make_link(client, scheduled)
    page = await text(await reader.get(path_of(url)))
    assert "is scheduled for" in page and "Soon" in page

    saved = await post_form(
        client, "/admin/posts/save", {"title": "About", "body": "Who *I* am.", "kind": "page"}
    )
    about = await db.scalar(select(Post).where(Post.slug == "about"))
    assert saved.status_code == 303 and about is not None and about.kind is PostKind.PAGE
    url, _ = await make_link(client, about)
    response = await reader.get(path_of(url))
    assert response.status_code == 200
    page = await text(response)
    assert "This page is a draft" in page and "Who <em>I</em> am." in page
    assert "min read" not in page  # a page has no byline


async def test_a_link_to_a_post_since_published_leads_to_its_address(
    client, reader, db: AsyncSession, writer: User
) -> None:
    post = await draft(db, writer)
    url, _ = await make_link(client, post)
    assert (await post_form(client, f"/admin/posts/{post.id}/publish")).status_code == 303
    await db.refresh(post)
    response = await reader.get(path_of(url))
    assert response.status_code == 302
    assert response.headers["Location"] == post_address(post)
    private(response)  # the token is not sent on to the post as a Referer
    # Back to draft, the same link previews it again.
    assert (await post_form(client, f"/admin/posts/{post.id}/unpublish")).status_code == 303
    assert (await reader.get(path_of(url))).status_code == 200


@pytest.mark.parametrize(
    "path",
    ["/preview/nope", "/preview/" + "A" * 43, "/preview/" + "x" * 500, "/preview/%E2%9C%93"],
)
async def test_an_unknown_link_is_a_clear_404(reader, client, path: str) -> None:
    response = await reader.get(path)
    assert response.status_code == 404
    private(response)
    page = await text(response)
    assert "Preview link not found" in page and "Ask whoever sent it for a new one" in page


async def test_an_expired_link_answers_404_and_leaves_the_list(
    client, reader, db: AsyncSession, writer: User
) -> None:
    post = await draft(db, writer)
    url, _ = await make_link(client, post)
    [link] = await links_of(db, post)
    link.expires_at = utcnow() - timedelta(seconds=1)
    await db.commit()
    response = await reader.get(path_of(url))
    assert response.status_code == 404
    private(response)
    assert "has expired" in await text(response)
    editor = await text(await client.get(f"/admin/posts/{post.id}/edit"))
    assert "works until" not in editor and "No live links." in editor


async def test_revoking_a_link_closes_it(client, reader, db: AsyncSession, writer) -> None:
    post = await draft(db, writer)
    first, _ = await make_link(client, post)
    second, _ = await make_link(client, post)
    one, two = await links_of(db, post)

    # With htmx: the box again, without the link.
    response = await post_form(
        client, f"/admin/posts/{post.id}/previews/{one.id}/revoke", headers=HTMX
    )
    assert response.status_code == 200
    box = await text(response)
    assert "<html" not in box and "Link revoked" in box and box.count("Revoke<span") == 1
    assert (await reader.get(path_of(first))).status_code == 404
    assert (await reader.get(path_of(second))).status_code == 200

    # Without: 303 to the Preview links page, which says so.
    response = await post_form(client, f"/admin/posts/{post.id}/previews/{two.id}/revoke")
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/admin/posts/{post.id}/previews?notice=")
    page = await text(await client.get(response.headers["Location"]))
    assert "Link revoked" in page and "No live links." in page
    assert (await reader.get(path_of(second))).status_code == 404
    assert await links_of(db, post) == []

    # Twice, or another post's link: nothing to revoke.
    again = await post_form(client, f"/admin/posts/{post.id}/previews/{two.id}/revoke")
    assert again.status_code == 404
    assert "revoked already" in await text(again)


async def test_deleting_the_post_deletes_its_links(client, reader, db, writer: User) -> None:
    post = await draft(db, writer)
    url, _ = await make_link(client, post)
    assert (await post_form(client, f"/admin/posts/{post.id}/delete")).status_code == 303
    assert await db.scalar(select(func.count()).select_from(PreviewLink)) == 0
    assert (await reader.get(path_of(url))).status_code == 404


async def test_the_database_deletes_a_deleted_posts_links_itself(db: AsyncSession) -> None:
    """The foreign key cascades (SQLite's foreign keys are on), whoever deletes the post."""
    post = await draft(db, None)
    await previews.create(db, post)
    await db.commit()
    await db.execute(Post.__table__.delete().where(Post.id == post.id))
    await db.commit()
    assert await db.scalar(select(func.count()).select_from(PreviewLink)) == 0


async def test_a_preview_costs_three_statements_whatever_the_post(
    client, reader, db: AsyncSession, writer: User, sql
) -> None:
    small = await draft(db, writer, title="Small", body="x")
    large = await draft(
        db, writer, title="Large", body="## A\n\n## B\n\n## C\n\ntext " * 50, tags=list("abcdef")
    )
    urls = [(await make_link(client, post))[0] for post in (small, large)]
    assert (await reader.get("/")).status_code == 200  # this moment's site settings
    for url in urls:
        sql.clear()
        assert (await reader.get(path_of(url))).status_code == 200
        # The content clock, the post with its link and byline, its tags.
        assert sql.count == 3, sql.statements
    sql.clear()
    assert (await reader.get("/preview/unknown-token")).status_code == 404
    assert sql.count == 2, sql.statements  # the clock, and the link not found


async def test_a_preview_is_in_no_list_feed_sitemap_or_search(
    client, reader, db: AsyncSession, writer: User
) -> None:
    post = await draft(db, writer, title="Hidden caching tricks")
    url, _ = await make_link(client, post)
    assert (await reader.get(path_of(url))).status_code == 200
    for path in ("/", "/feed.xml", "/sitemap.xml", "/archive", "/search?q=caching", "/api/posts"):
        page = await text(await reader.get(path))
        assert "Hidden caching tricks" not in page, path
        assert "/preview/" not in page, path
    robots = await text(await reader.get("/robots.txt"))
    # Not disallowed there: a crawler that may not fetch the page never sees its noindex.
    assert "/preview" not in robots


# --- who may ------------------------------------------------------------------------


async def test_only_the_author_or_an_admin_manages_a_posts_links(
    app, client, db: AsyncSession, author: User
) -> None:
    await make_user(db, "bob@example.com", "Bob Other")
    await make_user(db, "root@example.com", "Grace Admin", Role.ADMIN)
    post = await draft(db, author)
    await sign_in(client, "bob@example.com")
    for method, path in (
        ("get", f"/admin/posts/{post.id}/previews"),
        ("post", f"/admin/posts/{post.id}/previews"),
        ("post", f"/admin/posts/{post.id}/previews/1/revoke"),
    ):
        response = await client.get(path) if method == "get" else await post_form(client, path, {})
        assert response.status_code == 403, path
        assert "author or an admin" in await text(response)
    assert await links_of(db, post) == []

    unknown = await post_form(client, "/admin/posts/999/previews", {})
    assert unknown.status_code == 404 and "no such post" in await text(unknown)

    admin = app.test_client()  # another browser (the `client` fixture started the app)
    await sign_in(admin, "root@example.com")
    await make_link(admin, post)
    assert len(await links_of(db, post)) == 1


async def test_signed_out_no_one_makes_or_lists_links(reader, db: AsyncSession) -> None:
    post = await draft(db, None)
    assert (await post_form(reader, f"/admin/posts/{post.id}/previews", {})).status_code == 401
    listed = await reader.get(f"/admin/posts/{post.id}/previews")
    assert listed.status_code == 303 and "/login" in listed.headers["Location"]
    assert await links_of(db, post) == []


async def test_a_forged_request_makes_and_revokes_nothing(
    client, db: AsyncSession, writer: User
) -> None:
    post = await draft(db, writer)
    made = await client.post(f"/admin/posts/{post.id}/previews", form={"lifetime": "7"})
    assert made.status_code == 403
    cross = await post_form(
        client, f"/admin/posts/{post.id}/previews", {}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403
    assert await links_of(db, post) == []
    await make_link(client, post)
    [link] = await links_of(db, post)
    revoked = await client.post(f"/admin/posts/{post.id}/previews/{link.id}/revoke")
    assert revoked.status_code == 403
    assert len(await links_of(db, post)) == 1


# --- the component ------------------------------------------------------------------


async def test_a_token_resolves_until_its_expiry(db: AsyncSession) -> None:
    post = await draft(db, None)
    now = utcnow()
    made = await previews.create(db, post, days=1, now=now)
    await db.commit()
    found = await previews.resolve(db, made.token, now=now + timedelta(hours=23))
    assert found is not None and found.post.id == post.id
    assert await previews.resolve(db, made.token, now=now + timedelta(days=1)) is None
    assert await previews.resolve(db, made.token[:-1], now=now) is None
    assert await previews.resolve(db, "", now=now) is None
    assert [link.id for link in await previews.for_post(db, post.id, now=now)] == [made.link.id]
    assert await previews.for_post(db, post.id, now=now + timedelta(days=2)) == []


def test_lifetimes_read_from_a_form() -> None:
    assert previews.lifetime(None) == previews.lifetime("") == previews.DEFAULT_DAYS == 7
    assert [previews.lifetime(days) for days in ("1", "7", "30", " 30 ")] == [1, 7, 30, 30]
    assert [previews.lifetime(days) for days in ("0", "2", "1.5", "week")] == [None] * 4
