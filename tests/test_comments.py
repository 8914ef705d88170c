"""Comments: posting with and without JavaScript, moderation modes, spam defences, XSS."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import feedparser
import pytest
from quart import Quart
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components.comments import intake, reading, stamps
from components.comments.intake import Rules, Submission
from components.comments.stamps import issue_stamp, stamp_age
from components.models import Comment, CommentEvent, CommentStatus, Post, PostStatus, User
from tests.conftest import (
    TEST_SECRET,
    app_config,
    csrf_token,
    plan_of,
    post_address,
    sign_in,
    statements_sent,
    write_post,
)
from web import create_app

HX = {"HX-Request": "true", "HX-Request-Type": "partial"}
SAME_SITE = {"Sec-Fetch-Site": "same-origin"}


def stamp(age: float = 60) -> str:
    """The form's timestamp as if the form had been shown `age` seconds ago."""
    return issue_stamp(TEST_SECRET, time.time() - age)


def form(**fields: Any) -> dict[str, Any]:
    return {"name": "Lin Reader", "website": "", "body": "Nice post!", "stamp": stamp(), **fields}


async def make_post(db: AsyncSession, *, comments_enabled: bool = True, **extra: Any) -> Post:
    post = await write_post(
        db,
        title=extra.pop("title", "Hello comments"),
        body="Some text.",
        status=PostStatus.PUBLISHED,
        comments_enabled=comments_enabled,
        **extra,
    )
    await db.commit()
    return post


async def approve_some(db: AsyncSession, post: Post, count: int) -> None:
    """`count` approved comments on `post`, by Reader 0, 1, ..., saying Comment 0, 1, ..."""
    for number in range(count):
        db.add(
            Comment(
                post_id=post.id,
                author_name=f"Reader {number}",
                body=f"Comment {number}",
                body_html=f"<p>Comment {number}</p>",
                status=CommentStatus.APPROVED,
            )
        )
    await db.commit()


async def stored(db: AsyncSession) -> list[Comment]:
    query = select(Comment).order_by(Comment.id).execution_options(populate_existing=True)
    return list((await db.scalars(query)).all())


def app_with(database_url: str, tmp_path: Path, **settings: str) -> Quart:
    return create_app(app_config(database_url, tmp_path / "instance", **settings))


# --- posting without JavaScript ---------------------------------------------------------


async def test_a_comment_without_javascript_redirects_to_itself(
    open_client: Any, db: AsyncSession
) -> None:
    post = await make_post(db)
    response = await open_client.post(
        f"{post_address(post)}/comments", form=form(website="example.org"), headers=SAME_SITE
    )
    assert response.status_code == 303
    [comment] = await stored(db)
    assert response.headers["Location"].endswith(f"{post_address(post)}#comment-{comment.id}")
    assert comment.status is CommentStatus.APPROVED
    assert comment.author_url == "https://example.org"
    assert comment.ip and comment.commenter
    cookie = response.headers["Set-Cookie"]
    assert "quire_commenter=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie

    page = await open_client.get(post_address(post))
    html = await page.get_data(as_text=True)
    assert f'id="comment-{comment.id}"' in html
    assert "Lin Reader" in html and "<p>Nice post!</p>" in html
    assert "1 comment" in html


async def test_a_refused_comment_without_javascript_keeps_what_was_typed(
    open_client: Any, db: AsyncSession
) -> None:
    post = await make_post(db)
    response = await open_client.post(
        f"{post_address(post)}/comments",
        form=form(name="", website="javascript:alert(1)", body="My long thoughts"),
        headers=SAME_SITE,
    )
    assert response.status_code == 422
    html = await response.get_data(as_text=True)
    assert '<h1 class="p-name">Hello comments</h1>' in html  # the whole post page
    assert "Please give a name" in html
    assert "A website must be an address" in html
    assert "My long thoughts</textarea>" in html
    assert 'value="javascript:alert(1)"' in html  # kept, escaped, never a link
    assert await stored(db) == []


# --- posting with htmx ------------------------------------------------------------------


async def test_with_htmx_the_comment_appears_in_place_and_the_form_resets(
    open_client: Any, db: AsyncSession
) -> None:
    post = await make_post(db)
    response = await open_client.post(
        f"{post_address(post)}/comments", form=form(body="Inline!"), headers={**HX, **SAME_SITE}
    )
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    html = await response.get_data(as_text=True)
    [comment] = await stored(db)
    assert '<hx-partial data-hx-target="#comments-list" data-hx-swap="upsert">' in html
    assert f'id="comment-{comment.id}"' in html and "<p>Inline!</p>" in html
    assert 'id="comment-form"' in html and "</textarea>" in html
    assert "Inline!</textarea>" not in html  # the form is empty again
    assert "Your comment is published" in html
    assert "<html" not in html


async def test_with_htmx_errors_show_beside_the_fields(open_client: Any, db: AsyncSession) -> None:
    post = await make_post(db)
    response = await open_client.post(
        f"{post_address(post)}/comments",
        form=form(body="", name="Kept Name"),
        headers={**HX, **SAME_SITE},
    )
    assert response.status_code == 422
    html = await response.get_data(as_text=True)
    assert html.lstrip().startswith("<form")
    assert 'id="comment-form-body-error"' not in html  # errors are named by field
    assert 'id="body-error"' in html and "Please write a comment." in html
    assert 'value="Kept Name"' in html
    assert await stored(db) == []


# --- moderation modes -------------------------------------------------------------------


async def test_first_comments_wait_then_a_known_commenter_is_published_at_once(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    post = await make_post(db)
    app = app_with(database_url, tmp_path, QUIRE_COMMENT_MIN_SECONDS="0")
    async with app.test_app() as test_app:
        client = test_app.test_client()
        first = await client.post(f"{post_address(post)}/comments", form=form(), headers=SAME_SITE)
        assert first.status_code == 303
        assert first.headers["Location"].endswith("?comment=held#comment-form")
        [held] = await stored(db)
        assert held.status is CommentStatus.PENDING
        page = await (await client.get(f"{post_address(post)}?comment=held")).get_data(as_text=True)
        assert "will appear once it has been approved" in page
        assert "Nice post!" not in page

        held.status = CommentStatus.APPROVED
        await db.commit()
        again = await client.post(
            f"{post_address(post)}/comments", form=form(body="Second thought"), headers=SAME_SITE
        )
        assert again.status_code == 303 and "#comment-" in again.headers["Location"]
        assert (await stored(db))[-1].status is CommentStatus.APPROVED

        # Another browser is new here: it waits.
        stranger = test_app.test_client()
        other = await stranger.post(
            f"{post_address(post)}/comments", form=form(body="Hi from elsewhere"), headers=SAME_SITE
        )
        assert other.status_code == 303
        assert (await stored(db))[-1].status is CommentStatus.PENDING


async def test_hold_all_holds_even_a_known_commenter(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    post = await make_post(db)
    app = app_with(
        database_url, tmp_path, QUIRE_COMMENT_MODERATION="all", QUIRE_COMMENT_MIN_SECONDS="0"
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        await client.post(f"{post_address(post)}/comments", form=form(), headers=SAME_SITE)
        [first] = await stored(db)
        first.status = CommentStatus.APPROVED
        await db.commit()
        await client.post(
            f"{post_address(post)}/comments", form=form(body="More"), headers=SAME_SITE
        )
        assert (await stored(db))[-1].status is CommentStatus.PENDING


async def test_hold_none_publishes_at_once(open_client: Any, db: AsyncSession) -> None:
    post = await make_post(db)
    await open_client.post(f"{post_address(post)}/comments", form=form(), headers=SAME_SITE)
    [comment] = await stored(db)
    assert comment.status is CommentStatus.APPROVED
    events = (await db.scalars(select(CommentEvent))).all()
    assert [(e.comment_id, e.kind.value) for e in events] == [(comment.id, "published")]


# --- spam defences ----------------------------------------------------------------------


async def test_the_honeypot_refuses_politely(open_client: Any, db: AsyncSession) -> None:
    post = await make_post(db)
    response = await open_client.post(
        f"{post_address(post)}/comments", form=form(topic="cheap pills"), headers=SAME_SITE
    )
    assert response.status_code == 422
    assert "Leave this field empty" in await response.get_data(as_text=True)
    assert await stored(db) == []


async def test_a_form_sent_too_fast_is_refused_and_a_human_pace_passes(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    post = await make_post(db)
    app = app_with(
        database_url, tmp_path, QUIRE_COMMENT_MODERATION="none", QUIRE_COMMENT_MIN_SECONDS="5"
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        fast = await client.post(
            f"{post_address(post)}/comments", form=form(stamp=stamp(age=1)), headers=SAME_SITE
        )
        assert fast.status_code == 422
        text = await fast.get_data(as_text=True)
        assert "quicker than anyone can write" in text and "Nice post!</textarea>" in text
        assert await stored(db) == []
        human = await client.post(
            f"{post_address(post)}/comments", form=form(stamp=stamp(age=20)), headers=SAME_SITE
        )
        assert human.status_code == 303
        assert len(await stored(db)) == 1


@pytest.mark.parametrize("bad_stamp", ["", "forged.stamp", "expired"])
async def test_a_missing_forged_or_expired_stamp_is_refused(
    open_client: Any, db: AsyncSession, bad_stamp: str
) -> None:
    post = await make_post(db)
    value = stamp(age=3 * 86400) if bad_stamp == "expired" else bad_stamp
    response = await open_client.post(
        f"{post_address(post)}/comments", form=form(stamp=value), headers=SAME_SITE
    )
    assert response.status_code == 422
    text = await response.get_data(as_text=True)
    assert "Nice post!</textarea>" in text
    assert "expired" in text if bad_stamp == "expired" else "send it again" in text
    assert await stored(db) == []


async def test_the_page_renews_the_stamp_but_keeps_its_etag(
    open_client: Any, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = await make_post(db)
    now = [time.time()]
    monkeypatch.setattr(stamps, "clock", lambda: now[0])
    first = await open_client.get(post_address(post))
    now[0] += stamps.STAMP_WINDOW_SECONDS  # the next second's readers
    second = await open_client.get(post_address(post))
    seen = [
        (await r.get_data(as_text=True)).split('name="stamp" value="')[1].split('"')[0]
        for r in (first, second)
    ]
    assert seen[0] != seen[1]
    assert all(stamp_age(TEST_SECRET, s) is not None for s in seen)
    assert first.headers["ETag"] == second.headers["ETag"]
    cached = await open_client.get(
        post_address(post), headers={"If-None-Match": first.headers["ETag"]}
    )
    assert cached.status_code == 304


async def test_an_address_that_sends_too_many_comments_waits(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    post = await make_post(db)
    app = app_with(
        database_url,
        tmp_path,
        QUIRE_COMMENT_MODERATION="none",
        QUIRE_COMMENT_MIN_SECONDS="0",
        QUIRE_COMMENTS_PER_IP="2",
    )
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for number in range(2):
            sent = await client.post(
                f"{post_address(post)}/comments",
                form=form(body=f"Note {number}"),
                headers=SAME_SITE,
            )
            assert sent.status_code == 303
        third = await client.post(
            f"{post_address(post)}/comments", form=form(body="Note 3"), headers={**HX, **SAME_SITE}
        )
        assert third.status_code == 429
        assert 0 < int(third.headers["Retry-After"]) <= 600
        assert "Please wait about" in await third.get_data(as_text=True)
        assert len(await stored(db)) == 2


async def test_too_many_links_are_refused(open_client: Any, db: AsyncSession) -> None:
    post = await make_post(db)
    spammy = "https://a.example https://b.example https://c.example"
    refused = await open_client.post(
        f"{post_address(post)}/comments", form=form(body=spammy), headers=SAME_SITE
    )
    assert refused.status_code == 422
    assert "at most 2 links" in await refused.get_data(as_text=True)
    fine = await open_client.post(
        f"{post_address(post)}/comments",
        form=form(body="See https://a.example and https://b.example"),
        headers=SAME_SITE,
    )
    assert fine.status_code == 303


async def test_the_same_comment_twice_is_stored_once(open_client: Any, db: AsyncSession) -> None:
    post = await make_post(db)
    first = await open_client.post(f"{post_address(post)}/comments", form=form(), headers=SAME_SITE)
    again = await open_client.post(f"{post_address(post)}/comments", form=form(), headers=SAME_SITE)
    assert first.status_code == 303 and again.status_code == 422
    assert "already sent this comment" in await again.get_data(as_text=True)
    assert len(await stored(db)) == 1


async def test_a_cross_site_comment_is_refused(open_client: Any, db: AsyncSession) -> None:
    post = await make_post(db)
    response = await open_client.post(
        f"{post_address(post)}/comments", form=form(), headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403
    other_origin = await open_client.post(
        f"{post_address(post)}/comments", form=form(), headers={"Origin": "https://evil.example"}
    )
    assert other_origin.status_code == 403
    assert await stored(db) == []


# --- replies, writers, closed posts -----------------------------------------------------


async def test_replies_are_one_level_deep(open_client: Any, db: AsyncSession) -> None:
    post = await make_post(db)
    url = f"{post_address(post)}/comments"
    await open_client.post(url, form=form(body="Top"), headers=SAME_SITE)
    [top] = await stored(db)
    reply_form = await open_client.get(f"{url}/{top.id}/reply", headers=HX)
    assert reply_form.status_code == 200
    reply_html = await reply_form.get_data(as_text=True)
    assert f'id="reply-form-{top.id}"' in reply_html and f'value="{top.id}"' in reply_html

    answer = await open_client.post(
        url, form=form(body="Answer", parent_id=str(top.id)), headers={**HX, **SAME_SITE}
    )
    assert answer.status_code == 200
    html = await answer.get_data(as_text=True)
    assert f'data-hx-target="#replies-{top.id}"' in html
    reply = (await stored(db))[-1]
    await open_client.post(
        url, form=form(body="Answer to the answer", parent_id=str(reply.id)), headers=SAME_SITE
    )
    nested = (await stored(db))[-1]
    assert reply.parent_id == top.id and nested.parent_id == top.id

    page = await (await open_client.get(post_address(post))).get_data(as_text=True)
    replies = page.split(f'id="replies-{top.id}"')[1]
    assert "Answer to the answer" in replies
    assert "3 comments" in page


async def test_without_javascript_reply_opens_the_page_form(
    open_client: Any, db: AsyncSession
) -> None:
    post = await make_post(db)
    await open_client.post(f"{post_address(post)}/comments", form=form(), headers=SAME_SITE)
    [top] = await stored(db)
    moved = await open_client.get(f"{post_address(post)}/comments/{top.id}/reply")
    assert moved.status_code == 303
    assert moved.headers["Location"].endswith(f"?reply_to={top.id}#comment-form")
    page = await (await open_client.get(f"{post_address(post)}?reply_to={top.id}")).get_data(
        as_text=True
    )
    assert "Reply to Lin Reader" in page
    assert f'name="parent_id" value="{top.id}"' in page


async def test_a_writer_comments_as_themselves_and_is_marked_as_the_author(
    open_client: Any, db: AsyncSession, author: User
) -> None:
    post = await make_post(db, author=author)
    await sign_in(open_client, author.email)
    token = await csrf_token(open_client)
    refused = await open_client.post(
        f"{post_address(post)}/comments", form={"body": "No token"}, headers=SAME_SITE
    )
    assert refused.status_code == 403
    response = await open_client.post(
        f"{post_address(post)}/comments",
        form={"body": "Thanks for reading", "csrf_token": token},
        headers=SAME_SITE,
    )
    assert response.status_code == 303
    [comment] = await stored(db)
    assert comment.author_id == author.id and comment.author_name == author.name
    assert comment.status is CommentStatus.APPROVED
    page = await (await open_client.get(post_address(post))).get_data(as_text=True)
    assert '<span class="badge">Author</span>' in page
    assert "Commenting as <strong>Ada Author</strong>" in page


async def test_closed_comments_stay_visible_and_refuse_new_ones(
    open_client: Any, db: AsyncSession
) -> None:
    post = await make_post(db)
    await open_client.post(f"{post_address(post)}/comments", form=form(), headers=SAME_SITE)
    post.comments_enabled = False
    await db.commit()
    page = await (await open_client.get(post_address(post))).get_data(as_text=True)
    assert "Nice post!" in page and "Comments are closed." in page
    assert 'id="comment-form"' not in page and "Reply</a>" not in page
    refused = await open_client.post(
        f"{post_address(post)}/comments", form=form(body="Late"), headers=SAME_SITE
    )
    assert refused.status_code == 403
    assert "closed" in await refused.get_data(as_text=True)
    assert len(await stored(db)) == 1


async def test_closed_comments_can_be_hidden_by_a_setting(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    post = await make_post(db)
    db.add(
        Comment(
            post_id=post.id,
            author_name="Old",
            body="Old words",
            body_html="<p>Old words</p>",
            status=CommentStatus.APPROVED,
        )
    )
    post.comments_enabled = False
    await db.commit()
    app = app_with(database_url, tmp_path, QUIRE_CLOSED_COMMENTS="hide")
    async with app.test_app() as test_app:
        page = await (await test_app.test_client().get(post_address(post))).get_data(as_text=True)
    assert "Old words" not in page and 'id="comments"' not in page


async def test_a_post_without_comments_shows_no_form(open_client: Any, db: AsyncSession) -> None:
    post = await make_post(db, comments_enabled=False)
    page = await (await open_client.get(post_address(post))).get_data(as_text=True)
    assert 'id="comments"' not in page


# --- what readers see -------------------------------------------------------------------

XSS_NAME = "<script>alert('name')</script>"
XSS_SITE = 'https://x.example/"><script>alert(2)</script>'
XSS_BODY = "<img src=x onerror=alert(3)> [click](javascript:alert(4)) <svg onload=alert(5)>"


async def test_script_in_any_field_is_inert(open_client: Any, db: AsyncSession) -> None:
    post = await make_post(db)
    response = await open_client.post(
        f"{post_address(post)}/comments",
        form=form(name=XSS_NAME, website=XSS_SITE, body=XSS_BODY),
        headers=SAME_SITE,
    )
    # The website is no address at all, so it is refused; without it, the rest is taken.
    assert response.status_code == 422
    html = await response.get_data(as_text=True)
    assert "<script>alert" not in html
    response = await open_client.post(
        f"{post_address(post)}/comments",
        form=form(name=XSS_NAME, website="https://x.example/page", body=XSS_BODY),
        headers=SAME_SITE,
    )
    assert response.status_code == 303
    for url in (post_address(post), f"{post_address(post)}/comments/feed.xml"):
        html = await (await open_client.get(url)).get_data(as_text=True)
        assert "<script>alert" not in html and "<svg" not in html
        assert "<img" not in html and 'href="javascript' not in html
        assert "&lt;script&gt;alert" in html or "&amp;lt;script" in html


async def test_comment_counts_show_on_cards_and_the_post(
    open_client: Any, db: AsyncSession
) -> None:
    post = await make_post(db)
    for body in ("One", "Two"):
        await open_client.post(
            f"{post_address(post)}/comments", form=form(body=body), headers=SAME_SITE
        )
    home = await (await open_client.get("/")).get_data(as_text=True)
    assert "2 comments" in home
    page = await (await open_client.get(post_address(post))).get_data(as_text=True)
    assert page.count("2 comments") == 2  # in the meta line and above the comments


async def test_the_comments_feed_lists_the_newest_comments(
    open_client: Any, db: AsyncSession
) -> None:
    post = await make_post(db)
    for body in ("First **bold**", "Second"):
        await open_client.post(
            f"{post_address(post)}/comments", form=form(body=body), headers=SAME_SITE
        )
    response = await open_client.get(f"{post_address(post)}/comments/feed.xml")
    assert response.status_code == 200
    assert response.content_type.startswith("application/atom+xml")
    feed = feedparser.parse(await response.get_data())
    assert not feed.bozo
    assert feed.feed.title.startswith("Comments on “Hello comments”")
    assert [entry.content[0].value for entry in feed.entries] == [
        "<p>Second</p>",
        "<p>First <strong>bold</strong></p>",
    ]
    assert feed.entries[0].link.endswith("#comment-2")
    page = await (await open_client.get(post_address(post))).get_data(as_text=True)
    assert "/comments/feed.xml" in page
    missing = await open_client.get("/2000/01/01/nothing/comments/feed.xml")
    assert missing.status_code == 404


async def test_a_post_page_with_comments_costs_one_more_statement(
    client: Any, sql: Any, db: AsyncSession
) -> None:
    post = await make_post(db)
    await approve_some(db, post, 3)
    assert (await client.get("/")).status_code == 200  # the settings of this moment
    sql.clear()
    response = await client.get(post_address(post))
    assert response.status_code == 200
    assert "Reader 2" in await response.get_data(as_text=True)
    assert sql.count == 6, sql.statements  # the five of a post page, and its comments in one


async def test_a_comment_finds_what_it_checks_by_index(db: AsyncSession, backend: str) -> None:
    """Every statement of a comment's checks reads its rows through an index, and the
    known-commenter check through the one made for it.

    Where two indexes fit, SQLite (no statistics) guesses: that check once took the status
    index and read every approved comment (8.5 ms a comment at 100,000 posts). PostgreSQL's
    generic plan, planned without the values, is what a prepared statement runs once it
    has run five times: it once read the whole table, taking "" as a typical commenter.
    """
    post = await make_post(db)
    with statements_sent(db) as sent:
        await intake.submit(
            db,
            post,
            Submission(name="Lin", body="Hello", stamp=stamp()),
            rules=Rules(),
            secret=TEST_SECRET,
            ip="192.0.2.7",
            commenter=intake.commenter_hash("t" * 32),
        )
        await db.commit()
    checks = [
        (statement, parameters)
        for statement, parameters in zip(sent.statements, sent.parameters, strict=True)
        if statement.lstrip().startswith("SELECT") and "FROM comments" in statement
    ]
    known = [s for s, _ in checks if "comments.commenter =" in s and "comments.ip" not in s]
    assert len(known) == 1
    connection = await db.connection()
    if backend == "postgresql":
        await connection.exec_driver_sql("SET enable_seqscan = off")
        await connection.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
    prefix = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
    for statement, parameters in checks:
        if backend == "postgresql" and statement in known:
            # A named statement, so that the generic plan is the one explained.
            await connection.exec_driver_sql(f"PREPARE known AS {statement}")
            values = ", ".join("'{}'".format(str(value).replace("'", "''")) for value in parameters)
            plan = await connection.exec_driver_sql(f"EXPLAIN EXECUTE known({values})")
        else:
            plan = await connection.exec_driver_sql(prefix + statement, parameters)
        lines = " / ".join(str(row[-1]) for row in plan)
        assert "SCAN comments" not in lines and "Seq Scan" not in lines, (statement, lines)
        if statement in known:
            assert "ix_comments_known_commenters" in lines, lines
    if backend == "postgresql":
        await connection.exec_driver_sql("DEALLOCATE known")
        await connection.exec_driver_sql("RESET plan_cache_mode")
        await connection.exec_driver_sql("RESET enable_seqscan")


async def test_a_posts_comments_are_read_in_order_from_its_index(
    db: AsyncSession, backend: str
) -> None:
    """Its page's threads and its feed read the post's comments by the post's index, which
    also gives their order.

    Where the status index fits too (it is ordered by time), SQLite, which keeps no
    statistics, took it to skip a sort and read every approved comment in the blog to find
    one post's few: 5 to 6 ms a page at 100,000 posts, growing with the blog.
    """
    post = await make_post(db)
    await approve_some(db, post, 3)
    with statements_sent(db) as sent:
        shown = await reading.threads(db, post.id)
        newest = await reading.for_feed(db, post.id, limit=2)
    assert [t.comment.body for t in shown] == ["Comment 0", "Comment 1", "Comment 2"]
    assert [c.body for c in newest] == ["Comment 2", "Comment 1"]
    assert len(sent.statements) == 2
    for statement, parameters in zip(sent.statements, sent.parameters, strict=True):
        lines = await plan_of(db, backend, statement, parameters)
        assert "ix_comments_post_id_status_created_at" in lines, lines
        assert "TEMP B-TREE" not in lines and "Sort" not in lines, lines
