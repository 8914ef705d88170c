"""ActivityPub (components/activitypub, web/views/federation.py) against a stand-in for
Mastodon on 127.0.0.1 (tests/fediverse.py): discovery, actors, follows, what a post's
publication sends, replies and likes into the moderation queue, and the refusals. The
outbox worker's batches are run by hand."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.activitypub import inbox
from components.models import (
    Comment,
    CommentKind,
    CommentStatus,
    Delivery,
    DeliveryState,
    Follower,
    FollowerState,
    Following,
    FollowingState,
    Post,
    Role,
    User,
)
from web import create_app

from .conftest import app_config, make_user, post_address, post_form, sign_in
from .fediverse import Account, Fediverse, check_signed, fediverse
from .test_newsletter import send_all as run_outbox

AP = {"Accept": "application/activity+json"}
HOST = "http://localhost"


@pytest.fixture
def remote() -> Iterator[Fediverse]:
    with fediverse() as server:
        yield server


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Quart:
    return create_app(app_config(database_url, tmp_path / "instance", QUIRE_FETCH_PRIVATE="on"))


@pytest.fixture
async def client(app: Quart) -> AsyncIterator[Any]:
    async with app.test_app() as test_app:
        yield test_app.test_client()


@pytest.fixture
async def writer(db: AsyncSession) -> User:
    return await make_user(db, "ada@example.com", "Ada Lovelace")


async def get_json(client: Any, path: str, **headers: str) -> tuple[int, dict[str, Any], Any]:
    response = await client.get(path, headers={**AP, **headers})
    body = await response.get_data(as_text=True)
    return response.status_code, (json.loads(body) if response.status_code == 200 else {}), response


async def deliver(client: Any, account: Account, activity: dict[str, Any], **kwargs: Any) -> Any:
    """`account` posts `activity` to our shared inbox, signed."""
    body = json.dumps(activity).encode()
    path = kwargs.pop("path", "/ap/inbox")
    headers = account.signed(f"{HOST}{path}", body, **kwargs)
    return await client.post(path, data=body, headers=headers)


async def follow(client: Any, account: Account, username: str = "blog") -> Any:
    activity = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{account.uri}#follows/{username}",
        "type": "Follow",
        "actor": account.uri,
        "object": f"{HOST}/ap/actors/{username}",
    }
    return await deliver(client, account, activity)


async def publish(client: Any, title: str, **extra: str) -> None:
    await sign_in(client, "ada@example.com")
    form = {"title": title, "body": "Some *words*.", "action": "publish", **extra}
    response = await post_form(client, "/admin/posts/save", form)
    assert response.status_code == 303, await response.get_data(as_text=True)
    await post_form(client, "/logout")


async def our_key(client: Any, username: str) -> str:
    _, document, _ = await get_json(client, f"/ap/actors/{username}")
    key: str = document["publicKey"]["publicKeyPem"]
    return key


# --- discovery ---------------------------------------------------------------------


async def test_webfinger_finds_the_blog_and_each_author(client: Any, writer: User) -> None:
    response = await client.get("/.well-known/webfinger?resource=acct:blog@localhost")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/jrd+json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    found = json.loads(await response.get_data(as_text=True))
    assert found["subject"] == "acct:blog@localhost"
    selfs = [link for link in found["links"] if link["rel"] == "self"]
    assert selfs == [
        {"rel": "self", "type": "application/activity+json", "href": f"{HOST}/ap/actors/blog"}
    ]
    response = await client.get(f"/.well-known/webfinger?resource=acct:{writer.slug}@localhost")
    author = json.loads(await response.get_data(as_text=True))
    assert author["links"][0]["href"] == f"{HOST}/ap/actors/{writer.slug}"
    profile = [link for link in author["links"] if "profile-page" in link["rel"]]
    assert profile[0]["href"] == f"{HOST}/authors/{writer.slug}"
    # The actor's own address is a resource too.
    response = await client.get(f"/.well-known/webfinger?resource={HOST}/ap/actors/blog")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("resource", "status"),
    [
        ("", 400),
        ("acct:", 400),
        ("mailto:blog@localhost", 400),
        ("acct:blog@elsewhere.example", 404),
        ("acct:nobody@localhost", 404),
    ],
)
async def test_webfinger_says_what_is_wrong(client: Any, resource: str, status: int) -> None:
    response = await client.get(f"/.well-known/webfinger?resource={resource}")
    assert response.status_code == status
    assert (await response.get_data(as_text=True)).strip()


async def test_nodeinfo_names_the_software_and_its_protocol(client: Any, writer: User) -> None:
    response = await client.get("/.well-known/nodeinfo")
    links = json.loads(await response.get_data(as_text=True))["links"]
    assert links[0]["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1"
    assert links[0]["href"] == f"{HOST}/nodeinfo/2.1"
    response = await client.get("/nodeinfo/2.1")
    assert "nodeinfo.diaspora.software/ns/schema/2.1" in response.headers["Content-Type"]
    info = json.loads(await response.get_data(as_text=True))
    assert info["software"]["name"] == "quire"
    assert info["protocols"] == ["activitypub"]
    assert info["usage"]["users"]["total"] == 1
    assert info["openRegistrations"] is False


async def test_an_author_is_a_person_with_a_key_and_verified_links(
    client: Any, db: AsyncSession, writer: User
) -> None:
    await sign_in(client, "ada@example.com")
    response = await post_form(
        client,
        "/account/profile/",
        {
            "name": "Ada Lovelace",
            "slug": writer.slug,
            "bio": "Writes about engines.",
            "links": "https://mastodon.example/@ada",
        },
    )
    assert response.status_code in (200, 303), await response.get_data(as_text=True)
    await post_form(client, "/logout")
    status, actor, response = await get_json(client, f"/ap/actors/{writer.slug}")
    assert status == 200
    assert response.headers["Content-Type"].startswith("application/ld+json")
    assert actor["type"] == "Person"
    assert actor["id"] == f"{HOST}/ap/actors/{writer.slug}"
    assert actor["preferredUsername"] == writer.slug
    assert actor["name"] == "Ada Lovelace"
    assert "Writes about engines." in actor["summary"]
    assert actor["url"] == f"{HOST}/authors/{writer.slug}"
    assert actor["inbox"] == f"{actor['id']}/inbox"
    assert actor["endpoints"]["sharedInbox"] == f"{HOST}/ap/inbox"
    assert actor["publicKey"]["id"] == f"{actor['id']}#main-key"
    assert actor["publicKey"]["owner"] == actor["id"]
    assert actor["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert actor["manuallyApprovesFollowers"] is False
    assert 'rel="me' in actor["attachment"][0]["value"]
    assert "https://mastodon.example/@ada" in actor["attachment"][0]["value"]
    # The same key every time: it was made once and kept.
    assert await our_key(client, writer.slug) == actor["publicKey"]["publicKeyPem"]
    for collection in ("followers", "following", "outbox"):
        status, document, _ = await get_json(client, actor[collection].removeprefix(HOST))
        assert status == 200
        assert document["type"] == "OrderedCollection"
    assert (await client.get("/ap/actors/nobody", headers=AP)).status_code == 404


async def test_a_post_address_answers_the_article_to_a_server_and_the_page_to_a_browser(
    client: Any, db: AsyncSession, writer: User
) -> None:
    await publish(client, "Federated engines", tags="python, asyncio")
    post = await db.scalar(select(Post).where(Post.title == "Federated engines"))
    assert post is not None
    address = post_address(post)
    page = await client.get(address)  # kept for the next reader without cookies
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Accept" in page.headers["Vary"]
    status, article, response = await get_json(client, address)
    assert status == 200
    assert "Accept" in response.headers["Vary"]
    assert article["type"] == "Article"
    assert article["id"] == article["url"] == HOST + address
    assert article["attributedTo"] == f"{HOST}/ap/actors/{writer.slug}"
    assert article["name"] == "Federated engines"
    assert "<em>words</em>" in article["content"]
    assert "https://www.w3.org/ns/activitystreams#Public" in article["to"]
    assert {tag["name"] for tag in article["tag"]} == {"#python", "#asyncio"}
    assert all(tag["type"] == "Hashtag" for tag in article["tag"])
    again = await client.get(address)  # and browsers still get the page
    assert again.headers["Content-Type"].startswith("text/html")
    status, _, _ = await get_json(
        client,
        address,
        Accept='application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    )
    assert status == 200
    assert (await client.get("/2000/01/01/federated-engines", headers=AP)).status_code == 404


# --- follows -----------------------------------------------------------------------


async def test_a_follow_is_accepted_with_a_signed_accept(
    app: Quart, client: Any, db: AsyncSession, remote: Fediverse
) -> None:
    alice = remote.account("alice")
    response = await follow(client, alice)
    assert response.status_code == 202, await response.get_data(as_text=True)
    follower = await db.scalar(select(Follower))
    assert follower is not None
    assert follower.state is FollowerState.ACCEPTED
    assert await run_outbox(app) == 1
    received = remote.wait_for(1)
    assert received[0].path == "/users/alice/inbox"  # an Accept goes to the follower's own
    check_signed(
        received[0], await our_key(client, "blog"), key_id=f"{HOST}/ap/actors/blog#main-key"
    )
    accept = received[0].activity
    assert accept["type"] == "Accept"
    assert accept["actor"] == f"{HOST}/ap/actors/blog"
    assert accept["object"]["id"] == f"{alice.uri}#follows/blog"
    assert accept["object"]["actor"] == alice.uri
    _, followers, _ = await get_json(client, "/ap/actors/blog/followers")
    assert followers["totalItems"] == 1
    # Undo ends it.
    undo = {
        "id": f"{alice.uri}#undo-1",
        "type": "Undo",
        "actor": alice.uri,
        "object": {"id": f"{alice.uri}#follows/blog", "type": "Follow", "actor": alice.uri},
    }
    assert (await deliver(client, alice, undo)).status_code == 202
    assert await db.scalar(select(func.count(Follower.id))) == 0


async def test_followers_wait_for_an_admin_when_the_site_says_so(
    app: Quart, client: Any, db: AsyncSession, remote: Fediverse
) -> None:
    await make_user(db, "root@example.com", "Root", role=Role.ADMIN)
    await sign_in(client, "root@example.com")
    response = await post_form(
        client, "/admin/settings/", {"title": "Quire", "language": "en", "followers": "manual"}
    )
    assert response.status_code in (200, 303), await response.get_data(as_text=True)
    await post_form(client, "/logout")
    _, actor, _ = await get_json(client, "/ap/actors/blog")
    assert actor["manuallyApprovesFollowers"] is True
    alice = remote.account("alice")
    assert (await follow(client, alice)).status_code == 202
    follower = await db.scalar(select(Follower))
    assert follower is not None and follower.state is FollowerState.PENDING
    assert await run_outbox(app) == 0  # no Accept until an admin says so
    await sign_in(client, "root@example.com")
    page = await (await client.get("/admin/followers/")).get_data(as_text=True)
    assert "@alice@127.0.0.1" in page and "Waiting" in page
    response = await post_form(client, f"/admin/followers/{follower.id}/approve")
    assert response.status_code == 303
    assert await run_outbox(app) == 1
    assert remote.wait_for(1)[0].activity["type"] == "Accept"
    response = await post_form(client, f"/admin/followers/{follower.id}/remove")
    assert response.status_code == 303
    assert await db.scalar(select(func.count(Follower.id))) == 0
    assert await run_outbox(app) == 1
    reject = remote.wait_for(2)[1].activity
    assert reject["type"] == "Reject"
    assert reject["object"]["actor"] == alice.uri
    # Gone already: a clear 404, not a 500.
    response = await post_form(client, f"/admin/followers/{follower.id}/remove")
    assert response.status_code == 404
    # Not for authors.
    await post_form(client, "/logout")
    await make_user(db, "ada@example.com", "Ada")
    await sign_in(client, "ada@example.com")
    assert (await client.get("/admin/followers/")).status_code in (403, 404)


async def test_a_post_goes_to_followers_as_create_and_announce(
    app: Quart, client: Any, db: AsyncSession, writer: User, remote: Fediverse
) -> None:
    alice, bob = remote.account("alice"), remote.account("bob")
    await follow(client, alice, "blog")
    await follow(client, bob, writer.slug)
    await run_outbox(app)
    remote.wait_for(2)
    remote.received.clear()
    await publish(client, "To the fediverse", tags="engines", description="A short summary.")
    assert await run_outbox(app) == 2
    received = remote.wait_for(2)
    # One server, one shared inbox: a Create from the author, an Announce from the blog.
    assert {r.path for r in received} == {"/inbox"}
    by_type = {r.activity["type"]: r for r in received}
    create = by_type["Create"].activity
    check_signed(
        by_type["Create"],
        await our_key(client, writer.slug),
        key_id=f"{HOST}/ap/actors/{writer.slug}#main-key",
    )
    assert create["actor"] == f"{HOST}/ap/actors/{writer.slug}"
    article = create["object"]
    assert article["type"] == "Article"
    assert article["summary"] == "A short summary."
    assert article["name"] == "To the fediverse"
    assert article["tag"][0]["name"] == "#engines"
    announce = by_type["Announce"].activity
    check_signed(
        by_type["Announce"], await our_key(client, "blog"), key_id=f"{HOST}/ap/actors/blog#main-key"
    )
    assert announce["object"] == article["id"]
    post = await db.scalar(select(Post).where(Post.title == "To the fediverse"))
    assert post is not None
    # An edit: Update to both; the post deleted: Delete with a Tombstone.
    remote.received.clear()
    await sign_in(client, "ada@example.com")
    form = {"title": "To the fediverse", "body": "Better words.", "action": "publish"}
    form["version"] = str(post.version)
    response = await post_form(client, "/admin/posts/save", {**form, "post_id": str(post.id)})
    assert response.status_code == 303, await response.get_data(as_text=True)
    assert await run_outbox(app) == 1
    update = remote.wait_for(1)[0].activity
    assert update["type"] == "Update"
    assert "Better words." in update["object"]["content"]
    remote.received.clear()
    assert (await post_form(client, f"/admin/posts/{post.id}/delete")).status_code == 303
    assert await run_outbox(app) == 1
    deleted = remote.wait_for(1)[0].activity
    assert deleted["type"] == "Delete"
    assert deleted["object"] == {"id": article["id"], "type": "Tombstone"}


async def test_a_dead_server_costs_only_its_own_rows(
    app: Quart, client: Any, db: AsyncSession, writer: User, remote: Fediverse
) -> None:
    alice = remote.account("alice")
    await follow(client, alice, writer.slug)
    await run_outbox(app)
    remote.answer = 503
    await publish(client, "Into the void")
    assert await run_outbox(app) == 1
    row = await db.scalar(
        select(Delivery)
        .where(Delivery.purpose == "create")
        .execution_options(populate_existing=True)
    )
    assert row is not None and row.state is DeliveryState.PENDING
    assert "503" in row.last_error
    assert row.due_at > datetime.now(UTC)


# --- replies, likes, boosts --------------------------------------------------------


def note(account: Account, number: int, in_reply_to: str, text: str) -> dict[str, Any]:
    return {
        "id": f"{account.uri}/statuses/{number}",
        "type": "Note",
        "attributedTo": account.uri,
        "inReplyTo": in_reply_to,
        "content": text,
        "to": ["https://www.w3.org/ns/activitystreams#Public"],
    }


def create(account: Account, item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"{item['id']}/activity",
        "type": "Create",
        "actor": account.uri,
        "object": item,
    }


@pytest.fixture
async def target(client: Any, db: AsyncSession, writer: User) -> Post:
    await publish(client, "Talk to me", comments="on")
    post = await db.scalar(select(Post).where(Post.title == "Talk to me"))
    assert post is not None
    return post


async def test_a_reply_waits_in_the_queue_then_shows_under_the_post(
    client: Any, db: AsyncSession, target: Post, remote: Fediverse
) -> None:
    alice = remote.account("alice", display="Alice Example")
    url = HOST + post_address(target)
    html = '<p><span class="h-card"><a href="x">@blog</a></span> Lovely post!</p><p>Really.</p>'
    response = await deliver(client, alice, create(alice, note(alice, 1, url, html)))
    assert response.status_code == 202, await response.get_data(as_text=True)
    comment = await db.scalar(select(Comment))
    assert comment is not None
    assert comment.status is CommentStatus.PENDING
    assert comment.kind is CommentKind.MENTION
    assert comment.author_name == "Alice Example"
    assert comment.author_url == f"{remote.base}/@alice"
    assert comment.author_avatar == "https://files.example/alice.png"
    assert comment.body == "@blog Lovely post!\n\nReally."
    assert "<span" not in comment.body_html
    # A reply to that reply joins its thread.
    answer = note(alice, 2, f"{alice.uri}/statuses/1", "<p>And another thing.</p>")
    assert (await deliver(client, alice, create(alice, answer))).status_code == 202
    reply = await db.scalar(select(Comment).where(Comment.parent_id == comment.id))
    assert reply is not None
    # Approved, it is on the page.
    comment.status = CommentStatus.APPROVED
    await db.commit()
    page = await (await client.get(post_address(target))).get_data(as_text=True)
    assert "Lovely post!" in page
    assert "https://files.example/alice.png" in page
    # The author takes it back.
    delete = {
        "id": f"{alice.uri}/statuses/1#delete",
        "type": "Delete",
        "actor": alice.uri,
        "object": {"id": f"{alice.uri}/statuses/1", "type": "Tombstone"},
    }
    assert (await deliver(client, alice, delete)).status_code == 202
    assert await db.scalar(select(func.count(Comment.id))) == 0


async def test_a_reply_with_many_links_is_spam(
    client: Any, db: AsyncSession, target: Post, remote: Fediverse
) -> None:
    alice = remote.account("alice")
    links = " ".join(f"https://spam.example/{n}" for n in range(5))
    item = note(alice, 1, HOST + post_address(target), f"<p>Buy {links}</p>")
    assert (await deliver(client, alice, create(alice, item))).status_code == 202
    comment = await db.scalar(select(Comment))
    assert comment is not None and comment.status is CommentStatus.SPAM


async def test_likes_and_boosts_are_counted_and_undone(
    client: Any, db: AsyncSession, target: Post, remote: Fediverse
) -> None:
    alice, bob = remote.account("alice"), remote.account("bob")
    url = HOST + post_address(target)
    like = {"id": f"{alice.uri}#likes/1", "type": "Like", "actor": alice.uri, "object": url}
    boost = {
        "id": f"{bob.uri}/statuses/9/activity",
        "type": "Announce",
        "actor": bob.uri,
        "object": url,
    }
    assert (await deliver(client, alice, like)).status_code == 202
    assert (await deliver(client, bob, boost)).status_code == 202
    # The same like again counts once.
    assert (
        await deliver(client, alice, like, date=datetime.now(UTC) - timedelta(seconds=5))
    ).status_code == 202
    kinds = sorted(str(c.kind) for c in await db.scalars(select(Comment)))
    assert kinds == ["like", "repost"]
    page = await (await client.get(post_address(target))).get_data(as_text=True)
    assert "Liked by" in page and "Reposted by" in page
    undo = {"id": f"{alice.uri}#likes/1/undo", "type": "Undo", "actor": alice.uri, "object": like}
    assert (await deliver(client, alice, undo)).status_code == 202
    kinds = sorted(str(c.kind) for c in await db.scalars(select(Comment)))
    assert kinds == ["repost"]


# --- refusals ----------------------------------------------------------------------


async def test_unsigned_badly_signed_and_replayed_activities_are_refused(
    client: Any, db: AsyncSession, target: Post, remote: Fediverse
) -> None:
    alice, mallory = remote.account("alice"), remote.account("mallory")
    url = HOST + post_address(target)
    like = {"id": f"{alice.uri}#likes/1", "type": "Like", "actor": alice.uri, "object": url}
    body = json.dumps(like).encode()
    unsigned = await client.post(
        "/ap/inbox", data=body, headers={"Content-Type": "application/activity+json"}
    )
    assert unsigned.status_code == 401
    assert "not signed" in await unsigned.get_data(as_text=True)
    # Signed by someone else's key, for alice's activity.
    forged = await client.post(
        "/ap/inbox", data=body, headers=mallory.signed(f"{HOST}/ap/inbox", body)
    )
    assert forged.status_code == 401
    # Alice's signature, another body.
    headers = alice.signed(f"{HOST}/ap/inbox", body)
    tampered = await client.post("/ap/inbox", data=body.replace(b"Like", b"Like "), headers=headers)
    assert tampered.status_code == 401
    # An old date.
    stale = await deliver(client, alice, like, date=datetime.now(UTC) - timedelta(hours=3))
    assert stale.status_code == 401
    # Signed for another host (and sent here).
    headers = alice.signed(f"{HOST}/ap/inbox", body, host="elsewhere.example")
    elsewhere = await client.post("/ap/inbox", data=body, headers={**headers, "Host": "localhost"})
    assert elsewhere.status_code == 401
    headers = alice.signed(f"{HOST}/ap/inbox", body)
    assert await db.scalar(select(func.count(Comment.id))) == 0
    # The good one, then the very same request again.
    assert (await client.post("/ap/inbox", data=body, headers=headers)).status_code == 202
    replay = await client.post("/ap/inbox", data=body, headers=headers)
    assert replay.status_code == 401
    assert "replay" in await replay.get_data(as_text=True)


async def test_an_activity_that_speaks_for_another_server_is_refused(
    client: Any, db: AsyncSession, target: Post, remote: Fediverse
) -> None:
    alice = remote.account("alice")
    item = note(alice, 1, HOST + post_address(target), "<p>hi</p>")
    item["id"] = "https://other.example/statuses/1"
    response = await deliver(client, alice, create(alice, item) | {"id": f"{alice.uri}#c"})
    assert response.status_code == 400
    assert await db.scalar(select(func.count(Comment.id))) == 0


async def test_too_large_and_too_fast_are_refused(
    client: Any, target: Post, remote: Fediverse, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = remote.account("alice")
    big = {"id": f"{alice.uri}#big", "type": "Like", "actor": alice.uri, "pad": "x" * 300_000}
    assert (await deliver(client, alice, big)).status_code == 413
    monkeypatch.setattr(inbox, "MAX_PER_HOST", 2)
    url = HOST + post_address(target)
    for number in range(2):
        like = {"id": f"{alice.uri}#l{number}", "type": "Like", "actor": alice.uri, "object": url}
        assert (await deliver(client, alice, like)).status_code == 202
    late = {"id": f"{alice.uri}#l9", "type": "Like", "actor": alice.uri, "object": url}
    response = await deliver(client, alice, late)
    assert response.status_code == 429
    assert response.headers["Retry-After"]


async def test_a_gone_account_that_deletes_itself_loses_its_follows(
    app: Quart, client: Any, db: AsyncSession, remote: Fediverse
) -> None:
    alice = remote.account("alice")
    await follow(client, alice)
    assert await db.scalar(select(func.count(Follower.id))) == 1
    del remote.accounts["alice"]  # its server now answers 404 for it
    gone = {"id": f"{alice.uri}#delete", "type": "Delete", "actor": alice.uri, "object": alice.uri}
    assert (await deliver(client, alice, gone)).status_code == 202
    assert await db.scalar(select(func.count(Follower.id))) == 0


# --- following others --------------------------------------------------------------


async def follow_from_form(client: Any, address: str, actor: str = "blog") -> Any:
    return await post_form(client, "/admin/following/", {"address": address, "actor": actor})


async def test_an_admin_follows_an_account_found_by_webfinger_until_it_answers(
    app: Quart, client: Any, db: AsyncSession, remote: Fediverse
) -> None:
    await make_user(db, "root@example.com", "Root", role=Role.ADMIN)
    await sign_in(client, "root@example.com")
    bob = remote.account("bob", display="Bob Builder")
    handle = f"@bob@127.0.0.1:{remote.port}"
    response = await follow_from_form(client, handle)
    assert response.status_code == 303, await response.get_data(as_text=True)
    asked = await db.scalar(select(Following))
    assert asked is not None and asked.state is FollowingState.ASKED
    page = await (await client.get("/admin/following/")).get_data(as_text=True)
    assert "Bob Builder" in page and handle in page and "Asked" in page
    assert await run_outbox(app) == 1
    [sent] = remote.wait_for(1)
    assert sent.path == "/users/bob/inbox"
    check_signed(sent, await our_key(client, "blog"), key_id=f"{HOST}/ap/actors/blog#main-key")
    follow_activity = sent.activity
    assert follow_activity["type"] == "Follow"
    assert follow_activity["actor"] == f"{HOST}/ap/actors/blog"
    assert follow_activity["object"] == bob.uri
    assert follow_activity["id"] == asked.follow_id
    # Bob's server accepts, naming our Follow as Mastodon does.
    accept = {
        "id": f"{bob.uri}#accepts/follows/1",
        "type": "Accept",
        "actor": bob.uri,
        "object": follow_activity,
    }
    response = await deliver(client, bob, accept)
    assert response.status_code == 202, await response.get_data(as_text=True)
    await db.refresh(asked)
    assert asked.state is FollowingState.ACCEPTED and asked.answered_at is not None
    _, collection, _ = await get_json(client, "/ap/actors/blog/following")
    assert collection["totalItems"] == 1
    page = await (await client.get("/admin/following/")).get_data(as_text=True)
    assert "Following" in page and "Unfollow" in page
    # Following again sends nothing: the follow stands.
    response = await follow_from_form(client, bob.uri)
    assert response.status_code == 303
    assert await run_outbox(app) == 0
    # Unfollowing sends an Undo of that Follow.
    response = await post_form(client, f"/admin/following/{asked.id}/unfollow")
    assert response.status_code == 303
    assert await db.scalar(select(func.count(Following.id))) == 0
    assert await run_outbox(app) == 1
    undo = remote.wait_for(2)[1].activity
    assert undo["type"] == "Undo"
    assert undo["object"]["id"] == follow_activity["id"]
    assert undo["object"]["object"] == bob.uri
    response = await post_form(client, f"/admin/following/{asked.id}/unfollow")
    assert response.status_code == 404


async def test_a_refused_follow_shows_and_an_author_can_follow_too(
    app: Quart, client: Any, db: AsyncSession, remote: Fediverse, writer: User
) -> None:
    await make_user(db, "root@example.com", "Root", role=Role.ADMIN)
    await sign_in(client, "root@example.com")
    carol = remote.account("carol")
    page = await (await client.get("/admin/following/")).get_data(as_text=True)
    assert f'value="{writer.slug}"' in page, "each author can follow"
    response = await follow_from_form(client, f"carol@127.0.0.1:{remote.port}", writer.slug)
    assert response.status_code == 303, await response.get_data(as_text=True)
    await run_outbox(app)
    [sent] = remote.wait_for(1)
    assert sent.activity["actor"] == f"{HOST}/ap/actors/{writer.slug}"
    # Some servers answer with only the Follow's id.
    reject = {
        "id": f"{carol.uri}#rejects/1",
        "type": "Reject",
        "actor": carol.uri,
        "object": sent.activity["id"],
    }
    assert (await deliver(client, carol, reject)).status_code == 202
    refused = await db.scalar(select(Following))
    assert refused is not None and refused.state is FollowingState.REFUSED
    page = await (await client.get("/admin/following/")).get_data(as_text=True)
    assert "Refused" in page and "Remove" in page
    # Removing a refused follow tells no one: there is nothing to undo.
    response = await post_form(client, f"/admin/following/{refused.id}/unfollow")
    assert response.status_code == 303
    assert await run_outbox(app) == 0


async def test_an_answer_to_no_follow_of_ours_changes_nothing(
    app: Quart, client: Any, db: AsyncSession, remote: Fediverse
) -> None:
    mallory = remote.account("mallory")
    stray = {
        "id": f"{mallory.uri}#accepts/1",
        "type": "Accept",
        "actor": mallory.uri,
        "object": f"{HOST}/ap/actors/blog#follows-unknown",
    }
    response = await deliver(client, mallory, stray)
    assert response.status_code == 202
    assert "not a follow of ours" in await response.get_data(as_text=True)
    # Nor may anyone accept a follow of someone else.
    bob = remote.account("bob")
    for_bob = {
        "id": f"{mallory.uri}#accepts/2",
        "type": "Accept",
        "actor": mallory.uri,
        "object": {"type": "Follow", "actor": f"{HOST}/ap/actors/blog", "object": bob.uri},
    }
    assert (await deliver(client, mallory, for_bob)).status_code == 400
    assert await db.scalar(select(func.count(Following.id))) == 0


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Give the account"),
        ("just words", "is not an account's address"),
        ("@nobody@127.0.0.1:{port}", "no such account"),
        ("http://127.0.0.1:{port}/nothing-here", "no such account"),
        ("@someone@127.0.0.1:1", "could not be read"),
    ],
)
async def test_following_an_address_that_is_no_account_says_why(
    client: Any, db: AsyncSession, remote: Fediverse, typed: str, says: str
) -> None:
    await make_user(db, "root@example.com", "Root", role=Role.ADMIN)
    await sign_in(client, "root@example.com")
    response = await follow_from_form(client, typed.format(port=remote.port))
    assert response.status_code == 422
    page = await response.get_data(as_text=True)
    assert says in page.replace("&#39;", "'"), page
    assert 'aria-invalid="true"' in page
    assert await db.scalar(select(func.count(Following.id))) == 0
    assert await db.scalar(select(func.count(Delivery.id))) == 0


async def test_only_admins_follow(client: Any, db: AsyncSession, writer: User) -> None:
    await sign_in(client, "ada@example.com")
    assert (await client.get("/admin/following/")).status_code in (403, 404)
    response = await follow_from_form(client, "@bob@example.social")
    assert response.status_code in (403, 404)


# --- our posts as replies ----------------------------------------------------------


def serve_note(remote: Fediverse, account: Account, number: int) -> tuple[str, str]:
    """A note of `account` on the stand-in, at its id and at the address people share:
    (the shared address, the id)."""
    note_id = f"{account.uri}/statuses/{number}"
    body = json.dumps(
        {"@context": "https://www.w3.org/ns/activitystreams", **note(account, number, "", "Hi")}
    ).encode()
    remote.documents[note_id.removeprefix(remote.base)] = (200, body)
    remote.documents[f"/@{account.name}/{number}"] = (200, body)
    return f"{remote.base}/@{account.name}/{number}", note_id


async def test_a_post_in_reply_to_a_toot_tells_its_author(
    app: Quart, client: Any, db: AsyncSession, writer: User, remote: Fediverse
) -> None:
    bob = remote.account("bob")
    shared, note_id = serve_note(remote, bob, 7)
    await publish(client, "My answer", in_reply_to=shared)
    post = await db.scalar(select(Post))
    assert post is not None
    assert post.front_matter == {"in_reply_to": shared}
    page = await (await client.get(post_address(post))).get_data(as_text=True)
    assert f'<a class="u-in-reply-to" href="{shared}">' in page
    _, article, _ = await get_json(client, post_address(post))
    assert article["inReplyTo"] == shared
    await run_outbox(app)
    [told] = [r for r in remote.wait_for(1) if r.path.endswith("/inbox")]
    assert told.path == "/users/bob/inbox"  # its author's own inbox: no one follows us
    check_signed(
        told, await our_key(client, writer.slug), key_id=f"{HOST}/ap/actors/{writer.slug}#main-key"
    )
    assert told.activity["type"] == "Create"
    assert told.activity["object"]["inReplyTo"] == note_id, "the note's id, not its page"
    # Edited, it is told again (Update); deleted, it is told that too.
    remote.received.clear()
    await sign_in(client, "ada@example.com")
    form = {
        "post_id": str(post.id),
        "title": "My answer",
        "body": "Some *words*, and more.",
        "in_reply_to": shared,
        "action": "publish",
        "version": str(post.version),
    }
    assert (await post_form(client, "/admin/posts/save", form)).status_code == 303
    await run_outbox(app)
    assert [r.activity["type"] for r in remote.wait_for(1)] == ["Update"]
    remote.received.clear()
    assert (await post_form(client, f"/admin/posts/{post.id}/delete")).status_code == 303
    await run_outbox(app)
    [deleted] = remote.wait_for(1)
    assert deleted.activity["type"] == "Delete" and deleted.path == "/users/bob/inbox"


async def test_a_reply_to_a_page_off_the_fediverse_tells_no_inbox(
    app: Quart, client: Any, db: AsyncSession, writer: User, remote: Fediverse
) -> None:
    await publish(client, "About a web page", in_reply_to=f"{remote.base}/blog/a-page")
    await run_outbox(app)
    assert remote.received == []
    rows = list(await db.scalars(select(Delivery).order_by(Delivery.channel)))
    assert [(row.channel, row.state) for row in rows] == [
        ("activitypub", DeliveryState.CANCELLED),
        ("webmention", DeliveryState.CANCELLED),
    ]
    assert "no fediverse author" in rows[0].last_error
    assert rows[1].payload["target"] == f"{remote.base}/blog/a-page", "a Webmention is tried"


@pytest.mark.parametrize("typed", ["not an address", "ftp://example.com/x", "https://"])
async def test_a_reply_address_that_is_not_one_is_refused(
    client: Any, db: AsyncSession, writer: User, typed: str
) -> None:
    await sign_in(client, "ada@example.com")
    form = {"title": "Answer", "body": "Words.", "action": "publish", "in_reply_to": typed}
    response = await post_form(client, "/admin/posts/save", form)
    assert response.status_code == 422
    page = await response.get_data(as_text=True)
    assert "Give the full address of the post this one answers" in page
    assert await db.scalar(select(func.count(Post.id))) == 0


async def test_an_article_replying_to_a_post_is_shown_by_its_title_and_summary(
    client: Any, db: AsyncSession, target: Post, remote: Fediverse
) -> None:
    carol = remote.account("carol")
    article = {
        "id": f"{remote.base}/posts/answer",
        "type": "Article",
        "attributedTo": carol.uri,
        "inReplyTo": HOST + post_address(target),
        "name": "My answer to you",
        "summary": "In short: yes.",
        "content": "<p>" + "A long argument. " * 200 + "</p>",
    }
    assert (await deliver(client, carol, create(carol, article))).status_code == 202
    comment = await db.scalar(select(Comment))
    assert comment is not None
    assert comment.body == "My answer to you\n\nIn short: yes."
    assert comment.source_url == f"{remote.base}/posts/answer"


# --- servers that answer signed fetches only ---------------------------------------


async def test_servers_in_secure_mode_are_read_with_signed_fetches(
    app: Quart, client: Any, db: AsyncSession, writer: User, remote: Fediverse
) -> None:
    blog_key = {f"{HOST}/ap/actors/blog#main-key": await our_key(client, "blog")}
    remote.secure = blog_key
    alice, bob = remote.account("alice"), remote.account("bob")
    # The inbox reads the sender's key with a fetch signed as the blog.
    assert (await follow(client, alice)).status_code == 202
    # So does following by a profile's address...
    await make_user(db, "root@example.com", "Root", role=Role.ADMIN)
    await sign_in(client, "root@example.com")
    assert (await follow_from_form(client, bob.uri)).status_code == 303
    # ...and finding the author of a post ours answers.
    await post_form(client, "/logout")
    shared, _ = serve_note(remote, bob, 3)
    await publish(client, "Signed answer", in_reply_to=shared)
    await run_outbox(app)
    assert any(r.activity["type"] == "Create" for r in remote.wait_for(3))
    assert remote.refused_fetches == 0
    # A server that does not trust the signer refuses the fetch, and the activity is
    # refused in turn: its key could not be read.
    remote.secure = {bob.key_id: "not our key"}
    carol = remote.account("carol")
    response = await follow(client, carol)
    assert response.status_code == 401
    assert "could not be read" in await response.get_data(as_text=True)
    assert remote.refused_fetches == 1
