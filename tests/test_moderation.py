"""The moderation queue at /admin/comments (inline with htmx, and by plain forms), the
pending count in the admin navigation, and `quire comments purge-spam`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from quart import Quart
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cli.commands import main
from components import migrations
from components.comments.markup import render
from components.db import make_engine
from components.models import (
    Comment,
    CommentEvent,
    CommentEventKind,
    CommentStatus,
    Post,
    PostStatus,
    User,
    utcnow,
)

from .conftest import make_user, post_address, post_form, sign_in, write_post

HTMX = {"HX-Request": "true", "HX-Request-Type": "partial"}
QUEUE = "/admin/comments/"
PENDING, APPROVED, SPAM = CommentStatus.PENDING, CommentStatus.APPROVED, CommentStatus.SPAM


# --- arranging ------------------------------------------------------------------------


async def publish(db: AsyncSession, writer: User, title: str) -> Post:
    post = await write_post(
        db,
        title=title,
        body="Some text.",
        status=PostStatus.PUBLISHED,
        comments_enabled=True,
        author=writer,
    )
    await db.commit()
    return post


async def add_comment(
    db: AsyncSession,
    post: Post,
    body: str,
    *,
    status: CommentStatus = PENDING,
    name: str = "Rita Reader",
    parent: Comment | None = None,
    age: timedelta | None = None,
) -> Comment:
    comment = Comment(
        post_id=post.id,
        parent_id=parent.id if parent else None,
        author_name=name,
        body=body,
        body_html=render(body),
        status=status,
        ip="203.0.113.9",
    )
    if age is not None:
        comment.created_at = utcnow() - age
    db.add(comment)
    await db.commit()
    return comment


async def stored(db: AsyncSession, comment_id: int) -> Comment | None:
    """The comment as the database holds it now (the app wrote through its own session)."""
    return await db.scalar(
        select(Comment).where(Comment.id == comment_id).execution_options(populate_existing=True)
    )


async def status_of(db: AsyncSession, comment_id: int) -> CommentStatus | None:
    found = await stored(db, comment_id)
    return found.status if found else None


async def events(db: AsyncSession, comment_id: int) -> list[CommentEventKind]:
    found = await db.scalars(
        select(CommentEvent.kind)
        .where(CommentEvent.comment_id == comment_id)
        .order_by(CommentEvent.id)
    )
    return list(found.all())


async def page(client: Any, url: str, **kwargs: Any) -> str:
    response = await client.get(url, **kwargs)
    assert response.status_code == 200, url
    return await response.get_data(as_text=True)


def pending_badge(html: str) -> tuple[str, bool]:
    """The number in `#pending-count` and whether it is hidden."""
    match = re.search(r'<span id="pending-count" class="badge"( hidden)?>(\d+)<', html)
    assert match is not None, "no #pending-count in the page"
    return match[2], match[1] is not None


def row_ids(html: str) -> set[int]:
    return {int(found) for found in re.findall(r'id="comment-row-(\d+)"', html)}


@pytest.fixture
async def bob(db: AsyncSession) -> User:
    return await make_user(db, "bob@example.com", "Bob Writer")


@pytest.fixture
async def ada_post(db: AsyncSession, author: User) -> Post:
    return await publish(db, author, "Ada on async")


@pytest.fixture
async def bob_post(db: AsyncSession, bob: User) -> Post:
    return await publish(db, bob, "Bob on sockets")


@pytest.fixture
async def as_ada(client: Any, author: User) -> Any:
    await sign_in(client, "ada@example.com")
    return client


@pytest.fixture
async def other_client(app: Quart, client: Any) -> AsyncIterator[Any]:
    """A second browser on the same running app (its start-up has run through `client`)."""
    yield app.test_client()


# --- the queue ------------------------------------------------------------------------


async def test_the_queue_asks_to_sign_in_and_actions_are_refused_without_it(
    client: Any, db: AsyncSession, ada_post: Post
) -> None:
    comment = await add_comment(db, ada_post, "Waiting here.")
    response = await client.get(QUEUE)
    assert response.status_code == 303
    assert urlsplit(response.headers["Location"]).path == "/login"

    for action in ("approve", "spam", "delete"):
        refused = await post_form(client, f"{QUEUE}{comment.id}/{action}")
        assert refused.status_code == 401, action
    assert await status_of(db, comment.id) is PENDING


async def test_an_author_sees_comments_on_their_own_posts_an_admin_sees_all(
    client: Any,
    other_client: Any,
    db: AsyncSession,
    admin: User,
    as_ada: Any,
    ada_post: Post,
    bob_post: Post,
) -> None:
    mine = await add_comment(db, ada_post, "About the Ada post.")
    theirs = await add_comment(db, bob_post, "About the Bob post.")

    html = await page(client, QUEUE)
    assert row_ids(html) == {mine.id}
    assert "About the Ada post." in html and "About the Bob post." not in html
    assert "Waiting (1)" in html

    await sign_in(other_client, "root@example.com")
    html = await page(other_client, QUEUE)
    assert row_ids(html) == {mine.id, theirs.id}
    assert "Waiting (2)" in html


async def test_the_queue_filters_by_status_and_counts_each(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post
) -> None:
    waiting = [await add_comment(db, ada_post, f"Waiting {n}.") for n in range(2)]
    shown = await add_comment(db, ada_post, "Published one.", status=APPROVED)
    junk = await add_comment(db, ada_post, "Cheap pills.", status=SPAM)

    default = await page(client, QUEUE)
    assert row_ids(default) == {c.id for c in waiting}
    assert row_ids(await page(client, f"{QUEUE}?status=pending")) == {c.id for c in waiting}
    assert row_ids(await page(client, f"{QUEUE}?status=approved")) == {shown.id}
    assert row_ids(await page(client, f"{QUEUE}?status=spam")) == {junk.id}
    every = await page(client, f"{QUEUE}?status=all")
    assert row_ids(every) == {*(c.id for c in waiting), shown.id, junk.id}

    for html in (default, every):
        assert "Waiting (2)" in html
        assert "Published (1)" in html
        assert "Spam (1)" in html
    assert re.search(
        r'status=spam" aria-current="page">Spam', await page(client, f"{QUEUE}?status=spam")
    )

    # htmx asks for the list alone.
    fragment = await page(client, f"{QUEUE}?status=approved", headers=HTMX)
    assert row_ids(fragment) == {shown.id}
    assert "<html" not in fragment


async def test_an_empty_queue_says_so(client: Any, as_ada: Any, ada_post: Post) -> None:
    assert "No comments are waiting." in await page(client, QUEUE)


async def test_an_unknown_status_is_a_bad_request(client: Any, as_ada: Any) -> None:
    response = await client.get(f"{QUEUE}?status=deleted")
    assert response.status_code == 400


# --- who may act ----------------------------------------------------------------------


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
async def test_an_author_cannot_moderate_comments_on_someone_elses_post(
    client: Any, db: AsyncSession, as_ada: Any, bob_post: Post, headers: dict[str, str]
) -> None:
    waiting = await add_comment(db, bob_post, "Pending on Bob's post.")
    shown = await add_comment(db, bob_post, "Shown on Bob's post.", status=APPROVED)

    for comment in (waiting, shown):
        for action in ("approve", "spam", "delete"):
            response = await post_form(client, f"{QUEUE}{comment.id}/{action}", headers=headers)
            assert response.status_code == 403, (comment.body, action)
    assert (await client.get(f"{QUEUE}{waiting.id}/delete")).status_code == 403

    assert await status_of(db, waiting.id) is PENDING
    assert await status_of(db, shown.id) is APPROVED
    assert await events(db, waiting.id) == [] and await events(db, shown.id) == []


async def test_an_admin_moderates_any_post(
    client: Any, db: AsyncSession, admin: User, bob_post: Post
) -> None:
    comment = await add_comment(db, bob_post, "Pending on Bob's post.")
    await sign_in(client, "root@example.com")
    response = await post_form(client, f"{QUEUE}{comment.id}/approve", headers=HTMX)
    assert response.status_code == 200
    assert await status_of(db, comment.id) is APPROVED


async def test_a_missing_comment_is_not_found(client: Any, as_ada: Any) -> None:
    for action in ("approve", "spam", "delete"):
        response = await post_form(client, f"{QUEUE}999999/{action}", headers=HTMX)
        assert response.status_code == 404, action
        assert (await post_form(client, f"{QUEUE}999999/{action}")).status_code == 404
    assert (await client.get(f"{QUEUE}999999/delete")).status_code == 404


# --- inline, with htmx ----------------------------------------------------------------


async def test_approving_inline_publishes_the_comment_and_updates_the_count(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post
) -> None:
    comment = await add_comment(db, ada_post, "A *thoughtful* remark.", name="Rita Reader")
    await add_comment(db, ada_post, "Another one waiting.")
    assert "thoughtful" not in await page(client, post_address(ada_post))

    response = await post_form(client, f"{QUEUE}{comment.id}/approve", headers=HTMX)
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert "<html" not in html
    assert row_ids(html) == {comment.id}
    assert 'class="state state-approved">approved<' in html
    assert ">Approve</button>" not in html and ">Spam</button>" in html
    assert '<hx-partial data-hx-target="#pending-count"' in html
    assert pending_badge(html) == ("1", False)

    assert await status_of(db, comment.id) is APPROVED
    assert await events(db, comment.id) == [CommentEventKind.PUBLISHED]
    post_page = await page(client, post_address(ada_post))
    assert f'id="comment-{comment.id}"' in post_page
    assert "A <em>thoughtful</em> remark." in post_page


async def test_approving_the_last_one_hides_the_count(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post
) -> None:
    comment = await add_comment(db, ada_post, "The only one.")
    response = await post_form(client, f"{QUEUE}{comment.id}/approve", headers=HTMX)
    assert pending_badge(await response.get_data(as_text=True)) == ("0", True)


async def test_marking_a_published_comment_as_spam_inline_withdraws_it(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post
) -> None:
    comment = await add_comment(db, ada_post, "Buy cheap watches now.", status=APPROVED)
    assert "cheap watches" in await page(client, post_address(ada_post))

    response = await post_form(client, f"{QUEUE}{comment.id}/spam", headers=HTMX)
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert row_ids(html) == {comment.id}
    assert 'class="state state-spam">spam<' in html
    assert ">Spam</button>" not in html and ">Approve</button>" in html
    assert '<hx-partial data-hx-target="#pending-count"' in html

    kept = await stored(db, comment.id)
    assert kept is not None and kept.status is SPAM and kept.body == "Buy cheap watches now."
    assert await events(db, comment.id) == [CommentEventKind.WITHDRAWN]
    post_page = await page(client, post_address(ada_post))
    assert "cheap watches" not in post_page and f'id="comment-{comment.id}"' not in post_page


async def test_marking_a_pending_comment_as_spam_tells_no_reader(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post
) -> None:
    comment = await add_comment(db, ada_post, "Never shown.")
    response = await post_form(client, f"{QUEUE}{comment.id}/spam", headers=HTMX)
    assert response.status_code == 200
    assert pending_badge(await response.get_data(as_text=True)) == ("0", True)
    assert await status_of(db, comment.id) is SPAM
    assert await events(db, comment.id) == []


async def test_deleting_inline_removes_a_lone_comment_and_updates_the_count(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post
) -> None:
    doomed = await add_comment(db, ada_post, "Regrettable words.")
    waiting = await add_comment(db, ada_post, "Still waiting.")
    shown = await add_comment(db, ada_post, "Unrelated and fine.", status=APPROVED)

    response = await post_form(client, f"{QUEUE}{doomed.id}/delete", headers=HTMX)
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    # The row leaves by data-hx-swap="delete": only the count in the navigation comes back.
    assert row_ids(html) == set()
    assert '<hx-partial data-hx-target="#pending-count"' in html
    assert pending_badge(html) == ("1", False)

    assert await stored(db, doomed.id) is None
    assert await status_of(db, waiting.id) is PENDING
    assert await status_of(db, shown.id) is APPROVED
    assert await events(db, doomed.id) == []  # never shown, so no reader is told


async def test_deleting_inline_removes_the_comment_and_its_replies(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post
) -> None:
    doomed = await add_comment(db, ada_post, "Regrettable words.", status=APPROVED)
    replies = [
        await add_comment(db, ada_post, f"Reply {n} to it.", status=APPROVED, parent=doomed)
        for n in range(2)
    ]
    waiting_reply = await add_comment(db, ada_post, "A reply not yet shown.", parent=doomed)
    other = await add_comment(db, ada_post, "Unrelated and fine.", status=APPROVED)
    await add_comment(db, ada_post, "Still waiting.")
    assert "Regrettable" in await page(client, post_address(ada_post))

    response = await post_form(client, f"{QUEUE}{doomed.id}/delete", headers=HTMX)
    assert response.status_code == 200
    html = await response.get_data(as_text=True)
    assert '<hx-partial data-hx-target="#pending-count"' in html
    assert pending_badge(html) == ("1", False)

    for gone in (doomed, *replies, waiting_reply):
        assert await stored(db, gone.id) is None, gone.body
    assert await status_of(db, other.id) is APPROVED
    # Readers are told about what they could see, and only that.
    for was_shown in (doomed, *replies):
        assert await events(db, was_shown.id) == [CommentEventKind.WITHDRAWN]
    assert await events(db, waiting_reply.id) == []
    post_page = await page(client, post_address(ada_post))
    assert "Regrettable" not in post_page and "Reply 0" not in post_page
    assert "Unrelated and fine." in post_page


# --- without JavaScript ---------------------------------------------------------------


def queue_target(response: Any) -> tuple[str, dict[str, list[str]]]:
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    return location.path, parse_qs(location.query)


async def test_approving_by_plain_form_goes_back_to_the_queue_with_a_notice(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post
) -> None:
    comment = await add_comment(db, ada_post, "Plain and simple.", name="Nora No-JS")
    response = await post_form(client, f"{QUEUE}{comment.id}/approve?status=pending")
    path, query = queue_target(response)
    assert path == QUEUE and query["status"] == ["pending"]
    assert await status_of(db, comment.id) is APPROVED
    assert await events(db, comment.id) == [CommentEventKind.PUBLISHED]

    html = await page(client, response.headers["Location"])
    assert "Approved the comment by Nora No-JS." in html
    assert comment.id not in row_ids(html)


async def test_marking_spam_by_plain_form_returns_to_the_same_filter(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post
) -> None:
    comment = await add_comment(db, ada_post, "Shown, then spam.", status=APPROVED, name="Sam")
    response = await post_form(client, f"{QUEUE}{comment.id}/spam?status=approved")
    path, query = queue_target(response)
    assert path == QUEUE and query["status"] == ["approved"]
    assert await status_of(db, comment.id) is SPAM
    assert "Marked the comment by Sam as spam." in await page(client, response.headers["Location"])


async def test_deleting_without_javascript_asks_first_then_deletes(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post
) -> None:
    comment = await add_comment(db, ada_post, "Delete *me*, please.", name="Dee")
    kept = await add_comment(db, ada_post, "Keep me.")

    confirm = await page(client, f"{QUEUE}{comment.id}/delete?status=all")
    assert "Delete the comment by Dee?" in confirm
    assert "Delete <em>me</em>, please." in confirm
    form = re.search(
        r'<form method="post" action="([^"]*/delete[^"]*)"[^>]*>(.*?)</form>', confirm, re.S
    )
    assert form is not None
    assert urlsplit(form[1].replace("&amp;", "&")).path == f"{QUEUE}{comment.id}/delete"
    assert 'name="csrf_token"' in form[2]
    assert await status_of(db, comment.id) is PENDING  # asking deletes nothing

    response = await post_form(client, form[1].replace("&amp;", "&"))
    path, query = queue_target(response)
    assert path == QUEUE and query["status"] == ["all"]
    assert await stored(db, comment.id) is None
    assert await status_of(db, kept.id) is PENDING
    assert "Deleted the comment by Dee." in await page(client, response.headers["Location"])


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
async def test_an_action_without_the_csrf_token_is_refused(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post, headers: dict[str, str]
) -> None:
    comment = await add_comment(db, ada_post, "Still pending.")
    for action in ("approve", "spam", "delete"):
        response = await client.post(f"{QUEUE}{comment.id}/{action}", form={}, headers=headers)
        assert response.status_code == 403, action
    assert await status_of(db, comment.id) is PENDING
    assert await events(db, comment.id) == []


# --- the count in the navigation ------------------------------------------------------


async def test_the_admin_navigation_shows_how_many_comments_wait(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post, bob_post: Post
) -> None:
    assert pending_badge(await page(client, "/admin/")) == ("0", True)

    for n in range(2):
        await add_comment(db, ada_post, f"For Ada {n}.")
    await add_comment(db, ada_post, "Already shown.", status=APPROVED)
    await add_comment(db, ada_post, "Junk.", status=SPAM)
    await add_comment(db, bob_post, "For Bob, not Ada.")

    assert pending_badge(await page(client, "/admin/")) == ("2", False)
    assert pending_badge(await page(client, QUEUE)) == ("2", False)


# --- cross-site scripting -------------------------------------------------------------


class Elements(HTMLParser):
    """Every element's tag and attributes, and the text inside script elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def assert_inert(html: str) -> None:
    parsed = Elements()
    parsed.feed(html)
    assert not [tag for tag, _ in parsed.tags if tag == "img"]
    handlers = [
        (tag, name) for tag, attrs in parsed.tags for name, _ in attrs if name.startswith("on")
    ]
    assert handlers == []
    assert not [s for s in parsed.scripts if "alert" in s]
    # The only script elements are the page's own: files, and a post's JSON-LD.
    for tag, attrs in parsed.tags:
        if tag == "script":
            assert dict(attrs).get("src") or dict(attrs).get("type") == "application/ld+json"
    for href in (dict(attrs).get("href") or "" for _, attrs in parsed.tags):
        assert not href.lower().startswith("javascript:"), href
    assert "<script>alert" not in html and "<img" not in html
    assert not re.search(r"<[^>]*\sonerror\s*=", html)


async def test_hostile_names_websites_and_bodies_are_inert_in_the_queue(
    client: Any, db: AsyncSession, as_ada: Any, ada_post: Post
) -> None:
    comment = Comment(
        post_id=ada_post.id,
        author_name="<script>alert(1)</script>",
        author_url='https://x.example/"><script>alert(2)</script>',
        body="Look: <img src=x onerror=alert(3)> and <script>alert(4)</script>",
        body_html=render("Look: <img src=x onerror=alert(3)> and <script>alert(4)</script>"),
        status=PENDING,
        ip="203.0.113.9",
    )
    db.add(comment)
    await db.commit()

    html = await page(client, QUEUE)
    assert comment.id in row_ids(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(3)&gt;" in html
    assert_inert(html)

    confirm = await page(client, f"{QUEUE}{comment.id}/delete")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in confirm
    assert_inert(confirm)

    response = await post_form(client, f"{QUEUE}{comment.id}/approve", headers=HTMX)
    assert response.status_code == 200
    assert_inert(await response.get_data(as_text=True))
    assert_inert(await page(client, post_address(ada_post)))


# --- quire comments purge-spam --------------------------------------------------------


@pytest.fixture
async def migrated(database_url: str) -> AsyncIterator[str]:
    """The test database (built from the models) marked as fully migrated, for the CLI."""

    def stamp(sync: Any) -> None:
        script = ScriptDirectory.from_config(migrations.alembic_config())
        MigrationContext.configure(sync).stamp(script, "heads")

    engine = make_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(stamp)
        assert await migrations.pending(engine) == []
        yield database_url
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await engine.dispose()


async def quire(args: list[str], database_url: str, tmp_path: Path) -> Result:
    """The `quire` command, on a thread of its own: it runs its own event loop."""
    env = {"DATABASE_URL": database_url, "QUIRE_INSTANCE_PATH": str(tmp_path / "cli")}
    return await asyncio.to_thread(CliRunner().invoke, main, args, env=env)


async def test_purge_spam_deletes_only_spam_older_than_asked(
    db: AsyncSession, migrated: str, author: User, tmp_path: Path
) -> None:
    post = await publish(db, author, "Ada on async")
    old_spam = await add_comment(db, post, "Old junk.", status=SPAM, age=timedelta(days=40))
    recent_spam = await add_comment(db, post, "New junk.", status=SPAM, age=timedelta(days=5))
    old_approved = await add_comment(
        db, post, "Old and good.", status=APPROVED, age=timedelta(days=400)
    )
    old_pending = await add_comment(db, post, "Old, waiting.", age=timedelta(days=60))

    result = await quire(["comments", "purge-spam", "--older-than", "30d"], migrated, tmp_path)
    assert result.exit_code == 0, result.output
    assert "deleted 1 spam comment(s)" in result.output

    assert await stored(db, old_spam.id) is None
    assert await status_of(db, recent_spam.id) is SPAM
    assert await status_of(db, old_approved.id) is APPROVED
    assert await status_of(db, old_pending.id) is PENDING

    nothing = await quire(["comments", "purge-spam", "--older-than", "30d"], migrated, tmp_path)
    assert nothing.exit_code == 0, nothing.output
    assert "deleted 0 spam comment(s)" in nothing.output
    assert await status_of(db, recent_spam.id) is SPAM


async def test_purge_spam_deletes_every_old_spam_and_the_replies_it_drew(
    db: AsyncSession, migrated: str, author: User, tmp_path: Path
) -> None:
    post = await publish(db, author, "Ada on async")
    old_spam = await add_comment(db, post, "Old junk.", status=SPAM, age=timedelta(days=40))
    reply = await add_comment(
        db,
        post,
        "Replied before it was spam.",
        status=APPROVED,
        parent=old_spam,
        age=timedelta(days=39),
    )
    older_spam = await add_comment(db, post, "Older junk.", status=SPAM, age=timedelta(days=90))
    recent_spam = await add_comment(db, post, "New junk.", status=SPAM, age=timedelta(days=5))
    old_approved = await add_comment(
        db, post, "Old and good.", status=APPROVED, age=timedelta(days=400)
    )

    result = await quire(["comments", "purge-spam", "--older-than", "30d"], migrated, tmp_path)
    assert result.exit_code == 0, result.output
    assert "deleted 2 spam comment(s)" in result.output

    for gone in (old_spam, older_spam, reply):
        assert await stored(db, gone.id) is None, gone.body
    assert await status_of(db, recent_spam.id) is SPAM
    assert await status_of(db, old_approved.id) is APPROVED
    assert await events(db, reply.id) == [CommentEventKind.WITHDRAWN]


async def test_purge_spam_refuses_a_bad_duration(
    db: AsyncSession, migrated: str, author: User, tmp_path: Path
) -> None:
    post = await publish(db, author, "Ada on async")
    junk = await add_comment(db, post, "Old junk.", status=SPAM, age=timedelta(days=40))
    for bad in ("30x", "d30", "-3d", ""):
        result = await quire(["comments", "purge-spam", "--older-than", bad], migrated, tmp_path)
        assert result.exit_code != 0, bad
        assert "--older-than" in result.output, result.output
    assert await status_of(db, junk.id) is SPAM


async def test_purge_spam_wants_a_migrated_database(
    db: AsyncSession, database_url: str, tmp_path: Path
) -> None:
    result = await quire(["comments", "purge-spam"], database_url, tmp_path)
    assert result.exit_code == 1
    assert "run `quire db upgrade`" in result.output
