"""Webmention (components/webmention, web/views/webmention.py): sent to the pages a post
links to, through their advertised endpoints; received, verified later against the
source's own page and microformats, and moderated like comments. Other sites are a small
server on 127.0.0.1 (tests/webpages.py); the outbox worker's batches are run by hand."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import mf2py
import pytest
from quart import Quart
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import (
    Comment,
    CommentKind,
    CommentStatus,
    Delivery,
    DeliveryState,
    Post,
    PostStatus,
    User,
)
from web import create_app

from .conftest import app_config, make_user, post_address, post_form, sign_in, write_post
from .test_newsletter import send_all as run_outbox
from .webpages import Page, Site, website


@pytest.fixture
def web() -> Iterator[Site]:
    with website() as site:
        yield site


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Quart:
    return create_app(
        app_config(
            database_url,
            tmp_path / "instance",
            QUIRE_OUTBOX_WORKER="off",
            QUIRE_FETCH_PRIVATE="on",
            QUIRE_COMMENT_MODERATION="none",  # mentions are held all the same
        )
    )


@pytest.fixture
async def client(app: Quart) -> AsyncIterator[Any]:
    async with app.test_app() as test_app:
        yield test_app.test_client()


async def a_post(db: AsyncSession, body: str = "Something worth linking to.") -> Post:
    post = await write_post(db, title="Target", body=body, status=PostStatus.PUBLISHED)
    post.comments_enabled = True
    await db.commit()
    return post


def target_of(post: Post) -> str:
    return "http://localhost" + post_address(post)


def entry(body: str) -> bytes:
    return f"<!doctype html><html><body>{body}</body></html>".encode()


async def by_last_segment(db: AsyncSession, key: str) -> dict[str, Delivery]:
    """The outbox's rows by the last segment of their payload's source or target."""
    query = select(Delivery).execution_options(populate_existing=True)
    return {row.payload[key].rsplit("/", 1)[1]: row for row in await db.scalars(query)}


async def comments(db: AsyncSession) -> list[Comment]:
    query = select(Comment).order_by(Comment.id).execution_options(populate_existing=True)
    return list(await db.scalars(query))


# --- receiving ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "status", "message"),
    [
        ({"target": "{target}"}, 400, "The source is missing."),
        ({"source": "ftp://x/y", "target": "{target}"}, 400, "must be an http or https"),
        ({"source": "{target}", "target": "{target}"}, 400, "are the same page"),
        (
            {"source": "http://a.example/p", "target": "http://other.example/x"},
            400,
            "not on this site",
        ),
        ({"source": "http://a.example/p", "target": "http://localhost/tags"}, 400, "not a post"),
        (
            {"source": "http://a.example/p", "target": "http://localhost/2020/01/01/nope"},
            400,
            "not a published post",
        ),
    ],
)
async def test_a_webmention_that_cannot_be_taken_is_refused_with_the_reason(
    client: Any, db: AsyncSession, form: dict[str, str], status: int, message: str
) -> None:
    post = await a_post(db)
    data = {name: value.format(target=target_of(post)) for name, value in form.items()}
    response = await client.post("/webmention", form=data)
    assert response.status_code == status
    assert message in await response.get_data(as_text=True)
    assert (await db.scalars(select(Delivery))).all() == []


async def test_a_reply_is_verified_then_moderated_then_shown(
    app: Quart, client: Any, db: AsyncSession, web: Site
) -> None:
    post = await a_post(db)
    target = target_of(post)
    web.pages["/reply"] = Page(
        body=entry(
            f'<article class="h-entry"><a class="u-in-reply-to" href="{target}">In reply</a>'
            '<a class="p-author h-card" href="https://lin.example/">Lin Replier</a>'
            '<div class="e-content">Good point, <b>well</b> made.</div></article>'
        )
    )
    source = web.url + "/reply"
    page = await (await client.get(post_address(post))).get_data(as_text=True)
    assert '<link rel="webmention" href="http://localhost/webmention">' in page

    answer = await client.post("/webmention", form={"source": source, "target": target})
    assert answer.status_code == 202
    again = await client.post("/webmention", form={"source": source, "target": target})
    assert again.status_code == 202
    assert len((await db.scalars(select(Delivery))).all()) == 1, "one verification waits"
    assert await comments(db) == [], "nothing before it is verified"

    assert await run_outbox(app) == 1
    [mention] = await comments(db)
    assert (mention.kind, mention.status) == (CommentKind.MENTION, CommentStatus.PENDING)
    assert mention.author_name == "Lin Replier" and mention.author_url == "https://lin.example/"
    assert mention.body == "Good point, well made." and mention.source_url == source
    shown = await (await client.get(post_address(post))).get_data(as_text=True)
    assert "Good point" not in shown

    mention.status = CommentStatus.APPROVED
    await db.commit()
    shown = await (await client.get(post_address(post))).get_data(as_text=True)
    assert "Good point, well made." in shown and f'href="{source}"' in shown
    assert "1 comment" in shown

    # The page drops its link: the mention goes too.
    web.pages["/reply"] = Page(body=entry("<p>Changed my mind.</p>"))
    await client.post("/webmention", form={"source": source, "target": target})
    await run_outbox(app)
    assert await comments(db) == []


async def test_likes_and_reposts_are_held_and_never_shown_as_comments(
    app: Quart, client: Any, db: AsyncSession, web: Site
) -> None:
    post = await a_post(db)
    target = target_of(post)
    for kind, cls in (("like", "u-like-of"), ("repost", "u-repost-of")):
        web.pages[f"/{kind}"] = Page(
            body=entry(f'<div class="h-entry"><a class="{cls}" href="{target}">this</a></div>')
        )
        sent = await client.post(
            "/webmention", form={"source": f"{web.url}/{kind}", "target": target}
        )
        assert sent.status_code == 202
    await run_outbox(app)
    found = await comments(db)
    assert [c.kind for c in found] == [CommentKind.LIKE, CommentKind.REPOST]
    for comment in found:
        comment.status = CommentStatus.APPROVED
    await db.commit()
    shown = await (await client.get(post_address(post))).get_data(as_text=True)
    assert "comment-source" not in shown and "1 comment" not in shown
    host = web.url.removeprefix("http://")
    liked = rf'Liked by\s*<a href="{web.url}/like" rel="nofollow ugc noopener">{host}</a>\.'
    assert re.search(liked, shown), shown
    assert "Reposted by" in shown


async def test_a_quire_post_reads_as_an_h_entry(client: Any, db: AsyncSession) -> None:
    """What another site's Webmention receiver reads of a post here."""
    author = await make_user(db, "ada@example.com", "Ada Author")
    post = await write_post(
        db, title="Readable", body="The *text*.", status=PostStatus.PUBLISHED, author=author
    )
    await db.commit()
    page = await (await client.get(post_address(post))).get_data(as_text=True)
    parsed = mf2py.parse(doc=page, url=target_of(post))
    [item] = [item for item in parsed["items"] if "h-entry" in item["type"]]
    properties = item["properties"]
    assert properties["name"] == ["Readable"]
    assert properties["url"] == [target_of(post)]
    assert properties["content"][0]["value"] == "The text."
    assert properties["author"][0]["properties"]["name"] == ["Ada Author"]
    assert properties["published"][0].startswith(f"{post.published_at:%Y-%m-%d}")


async def test_a_page_that_does_not_link_or_is_gone_leaves_nothing_and_a_dead_one_is_retried(
    app: Quart, client: Any, db: AsyncSession, web: Site
) -> None:
    post = await a_post(db)
    target = target_of(post)
    web.pages["/nolink"] = Page(body=entry("<p>No link here.</p>"))
    web.pages["/broken"] = Page(status=503)
    for path in ("/nolink", "/gone", "/broken"):
        await client.post("/webmention", form={"source": web.url + path, "target": target})
    assert await run_outbox(app) == 3
    assert await comments(db) == []
    rows = {
        row.payload["source"].rsplit("/", 1)[1]: row for row in await db.scalars(select(Delivery))
    }
    assert rows["nolink"].state is DeliveryState.SENT and rows["gone"].state is DeliveryState.SENT
    assert rows["broken"].state is DeliveryState.PENDING and "503" in rows["broken"].last_error


async def test_a_mention_from_a_private_address_is_not_fetched_in_production_settings(
    database_url: str, tmp_path: Path, db: AsyncSession, web: Site
) -> None:
    app = create_app(app_config(database_url, tmp_path / "instance", QUIRE_OUTBOX_WORKER="off"))
    post = await a_post(db)
    web.pages["/reply"] = Page(body=entry(f'<a href="{target_of(post)}">x</a>'))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        await client.post(
            "/webmention", form={"source": web.url + "/reply", "target": target_of(post)}
        )
        await run_outbox(app)
    [row] = await db.scalars(select(Delivery).execution_options(populate_existing=True))
    # Failed at once: a private address will not change, and kept waiting it would count
    # against every honest sender's limit for days.
    assert row.state is DeliveryState.FAILED and "private, loopback" in row.last_error
    assert await comments(db) == []


async def test_a_hostile_source_fails_alone_and_a_bad_address_is_a_400(
    app: Quart, client: Any, db: AsyncSession, web: Site
) -> None:
    post = await a_post(db)
    target = target_of(post)
    web.pages["/deep"] = Page(body=entry("<div>" * 2_000 + f'<a href="{target}">x</a>'))
    web.pages["/huge"] = Page(body=entry("<i></i>" * 25_000 + f'<a href="{target}">x</a>'))
    web.pages["/charset"] = Page(
        headers={"Content-Type": "text/html; charset=bogus"},
        body=entry(f'<a href="{target}">x</a>'),
    )
    web.pages["/fine"] = Page(body=entry(f'<a href="{target}">A fine mention</a>'))
    for path in ("/deep", "/huge", "/charset", "/fine"):
        await client.post("/webmention", form={"source": web.url + path, "target": target})
    await run_outbox(app)
    rows = await by_last_segment(db, "source")
    assert rows["huge"].state is DeliveryState.FAILED
    assert "could not be read" in rows["huge"].last_error
    assert rows["fine"].state is DeliveryState.SENT
    assert [comment.source_url for comment in await comments(db)][-1] == web.url + "/fine"
    for bad in ("http://[x/", "http://host:99999/p"):
        refused = await client.post("/webmention", form={"source": bad, "target": target})
        assert refused.status_code == 400
        assert "The source is not a valid address." in await refused.get_data(as_text=True)


# --- sending -----------------------------------------------------------------------


@pytest.fixture
async def writer(db: AsyncSession) -> User:
    return await make_user(db, "ada@example.com", "Ada Author")


async def test_a_published_post_tells_each_page_it_links_to(
    app: Quart, client: Any, db: AsyncSession, web: Site, writer: User
) -> None:
    web.pages["/by-header"] = Page(
        headers={"Content-Type": "text/html", "Link": '</endpoint-a>; rel="webmention"'},
        body=entry("<p>One</p>"),
    )
    web.pages["/by-link"] = Page(
        body=entry('<head><link rel="webmention" href="/endpoint-b"></head>')
    )
    web.pages["/no-endpoint"] = Page(body=entry("<p>Nothing advertised</p>"))
    body = (
        f"See [one]({web.url}/by-header), [two]({web.url}/by-link#part), "
        f"[three]({web.url}/no-endpoint), [again]({web.url}/by-header) and [home](/)."
    )
    await sign_in(client, "ada@example.com")
    saved = await post_form(
        client, "/admin/posts/save", {"title": "Links", "body": body, "action": "publish"}
    )
    assert saved.status_code == 303
    rows = (await db.scalars(select(Delivery).order_by(Delivery.id))).all()
    assert [row.payload["target"] for row in rows] == [
        f"{web.url}/by-header",
        f"{web.url}/by-link",
        f"{web.url}/no-endpoint",
    ], "each page once, without its fragment, and not our own"

    assert await run_outbox(app) == 3
    posted = sorted(web.posted)
    post = (await db.scalars(select(Post))).one()
    source = "http://localhost" + post_address(post)
    assert posted == [
        ("/endpoint-a", {"source": source, "target": f"{web.url}/by-header"}),
        ("/endpoint-b", {"source": source, "target": f"{web.url}/by-link"}),
    ]
    states = {
        row.payload["target"].rsplit("/", 1)[1]: row
        for row in await db.scalars(select(Delivery).execution_options(populate_existing=True))
    }
    assert states["by-header"].state is DeliveryState.SENT
    assert states["no-endpoint"].state is DeliveryState.CANCELLED


async def test_an_endpoint_that_refuses_fails_and_one_that_errs_is_retried(
    app: Quart, client: Any, db: AsyncSession, web: Site, writer: User
) -> None:
    for name, status in (("refuses", 400), ("errs", 502)):
        web.pages[f"/{name}"] = Page(body=entry(f'<link rel="webmention" href="/in-{name}">'))
        web.answers[f"/in-{name}"] = Page(status)
    body = f"[a]({web.url}/refuses) [b]({web.url}/errs)"
    await sign_in(client, "ada@example.com")
    await post_form(client, "/admin/posts/save", {"title": "T", "body": body, "action": "publish"})
    await run_outbox(app)
    rows = {
        row.payload["target"].rsplit("/", 1)[1]: row
        for row in await db.scalars(select(Delivery).execution_options(populate_existing=True))
    }
    assert rows["refuses"].state is DeliveryState.FAILED and "400" in rows["refuses"].last_error
    assert rows["errs"].state is DeliveryState.PENDING and "502" in rows["errs"].last_error


async def test_one_server_sending_too_many_is_told_to_wait(
    client: Any, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = await a_post(db)
    monkeypatch.setattr("components.webmention.incoming.MAX_PER_HOST", 2)
    for number in range(2):
        form = {"source": f"http://busy.example/{number}", "target": target_of(post)}
        assert (await client.post("/webmention", form=form)).status_code == 202
    form = {"source": "http://busy.example/2", "target": target_of(post)}
    refused = await client.post("/webmention", form=form)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "600"
    assert "Too many Webmentions from busy.example" in await refused.get_data(as_text=True)
    other = {"source": "http://calm.example/1", "target": target_of(post)}
    assert (await client.post("/webmention", form=other)).status_code == 202


async def test_a_post_taken_down_tells_the_pages_it_linked_to(
    app: Quart, client: Any, db: AsyncSession, web: Site, writer: User
) -> None:
    web.pages["/page"] = Page(body=entry('<link rel="webmention" href="/endpoint">'))
    await sign_in(client, "ada@example.com")
    for title in ("Unpublished", "Deleted"):
        form = {"title": title, "body": f"See [it]({web.url}/page).", "action": "publish"}
        await post_form(client, "/admin/posts/save", form)
    assert await run_outbox(app) == 2
    posts = {post.title: post for post in await db.scalars(select(Post))}
    addresses = {title: "http://localhost" + post_address(post) for title, post in posts.items()}

    await post_form(client, f"/admin/posts/{posts['Unpublished'].id}/unpublish")
    await post_form(client, f"/admin/posts/{posts['Deleted'].id}/delete")
    assert await run_outbox(app) == 2
    told = sorted(form["source"] for path, form in web.posted[2:])
    assert told == sorted(addresses.values())
    assert all(path == "/endpoint" for path, _ in web.posted)
    # A draft never public tells no one when it is deleted.
    await post_form(
        client, "/admin/posts/save", {"title": "Never out", "body": f"[x]({web.url}/page)"}
    )
    never = (await db.scalars(select(Post).where(Post.title == "Never out"))).one()
    await post_form(client, f"/admin/posts/{never.id}/delete")
    assert await run_outbox(app) == 0
