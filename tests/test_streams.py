"""Live comments by server-sent events, in process: what a stream sends, from where it
takes up, and what it refuses. Across real servers: tests/test_streams_live.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from sqlalchemy import delete, text
from sqlalchemy.ext.asyncio import AsyncSession

from components.comments import events, intake, moderation
from components.comments.intake import Moderation, Rules, Submission
from components.comments.moderation import Verdict
from components.comments.stamps import issue_stamp
from components.models import Comment, CommentEvent, Post, PostStatus, User
from tests.conftest import (
    DEADLINE_SECONDS,
    TEST_SECRET,
    app_config,
    make_user,
    post_address,
    sign_in,
    write_post,
)
from tests.sse import Reader, parse
from web import create_app, streams

OPEN = Rules(moderation=Moderation.NONE, min_seconds=0, per_ip=10_000)
HELD = Rules(moderation=Moderation.ALL, min_seconds=0, per_ip=10_000)


async def make_post(db: AsyncSession, title: str = "Live talk", **extra: Any) -> Post:
    post = await write_post(
        db,
        title=title,
        body="Some text.",
        status=PostStatus.PUBLISHED,
        **{"comments_enabled": True, **extra},
    )
    await db.commit()
    return post


async def say(
    db: AsyncSession, post: Post, body: str, *, rules: Rules = OPEN, parent: int | None = None
) -> Comment:
    """A comment taken as the form would take it, events and all."""
    form = Submission(
        name="Lin Reader",
        body=body,
        parent_id=parent,
        stamp=issue_stamp(TEST_SECRET, time.time() - 60),
    )
    comment = await intake.submit(
        db, post, form, rules=rules, secret=TEST_SECRET, ip="203.0.113.7", commenter="c" * 64
    )
    await db.commit()
    return comment


@pytest.fixture
def live_app(database_url: str, tmp_path: Path) -> Quart:
    return create_app(
        app_config(
            database_url,
            tmp_path / "instance",
            QUIRE_STREAM_POLL_MS="50",
            QUIRE_STREAM_KEEPALIVE="1",
            QUIRE_STREAM_LIMIT="3",
        )
    )


@pytest.fixture
async def live_client(live_app: Quart) -> AsyncIterator[Any]:
    async with live_app.test_app() as test_app:
        yield test_app.test_client()


@asynccontextmanager
async def streaming(client: Any, path: str, **headers: str) -> AsyncIterator[Reader]:
    """An open stream, read message by message; the retry hint is checked and skipped."""
    async with client.request(path, headers=headers) as connection:
        await connection.send_complete()
        reader = Reader(connection.receive)
        first = await reader.next()
        assert connection.status_code == 200
        assert connection.headers["Content-Type"].startswith("text/event-stream")
        assert connection.headers["Cache-Control"] == "no-store"
        assert first.retry == streams.RETRY_MS
        reader.connection = connection  # type: ignore[attr-defined]
        yield reader
        await connection.disconnect()


# --- the message format -----------------------------------------------------------------


def test_a_message_keeps_every_line_of_its_data() -> None:
    raw = streams.message(7, "<pre>one\n\nthree\r\nfour\u2028same line</pre>")
    assert raw.endswith(b"\n\n") and b"\n\n" not in raw[:-2]
    message = parse(raw.decode()[:-2])
    assert message.id == "7"
    assert message.data == "<pre>one\n\nthree\nfour\u2028same line</pre>"
    assert streams.message(8, "") == b"id: 8\n\n"


# --- readers' streams -------------------------------------------------------------------


async def test_a_reader_sees_a_new_comment_with_the_new_count(
    live_client: Any, db: AsyncSession
) -> None:
    post = await make_post(db)
    await say(db, post, "Already here")
    async with streaming(live_client, f"{post_address(post)}/comments/stream") as reader:
        # Without an id to take up from, a stream starts from now: nothing old is sent.
        comment = await say(db, post, "Hello *live* world")
        message = await reader.next_event()
    assert message.id == str(await events.latest(db, post.id))
    assert '<hx-partial data-hx-target="#comments-list" data-hx-swap="upsert">' in message.data
    assert f'<li class="comment" id="comment-{comment.id}">' in message.data
    assert "Hello <em>live</em> world" in message.data
    assert "Already here" not in message.data
    assert ">2 comments</hx-partial>" in message.data


async def test_a_reply_goes_under_its_comment(live_client: Any, db: AsyncSession) -> None:
    post = await make_post(db)
    top = await say(db, post, "Top")
    async with streaming(live_client, f"{post_address(post)}/comments/stream") as reader:
        await say(db, post, "Under it", parent=top.id)
        message = await reader.next_event()
    assert f'<hx-partial data-hx-target="#replies-{top.id}" data-hx-swap="upsert">' in message.data


async def test_held_comments_reach_readers_only_once_approved(
    live_client: Any, db: AsyncSession
) -> None:
    post = await make_post(db)
    async with streaming(live_client, f"{post_address(post)}/comments/stream") as reader:
        held = await say(db, post, "Wait for me", rules=HELD)
        waiting = await reader.next_event()
        assert waiting.data == ""  # only the id moves on: readers see nothing yet
        await moderation.judge(db, held, Verdict.APPROVE)
        await db.commit()
        shown = await reader.next_event()
        assert f'id="comment-{held.id}"' in shown.data and "Wait for me" in shown.data

        await moderation.judge(db, held, Verdict.SPAM)
        await db.commit()
        gone = await reader.next_event()
    assert f'<hx-partial data-hx-target="#comment-{held.id}" data-hx-swap="delete">' in gone.data
    assert ">0 comments</hx-partial>" in gone.data
    assert "Wait for me" not in gone.data


async def test_a_deleted_comment_leaves_readers_pages(live_client: Any, db: AsyncSession) -> None:
    post = await make_post(db)
    comment = await say(db, post, "Soon gone")
    async with streaming(live_client, f"{post_address(post)}/comments/stream") as reader:
        await moderation.remove(db, comment)
        await db.commit()
        message = await reader.next_event()
    assert f'data-hx-target="#comment-{comment.id}" data-hx-swap="delete"' in message.data


async def test_a_stream_follows_its_own_post_only(live_client: Any, db: AsyncSession) -> None:
    post = await make_post(db)
    other = await make_post(db, title="Elsewhere")
    async with streaming(live_client, f"{post_address(post)}/comments/stream") as reader:
        await say(db, other, "Not for this page")
        mine = await say(db, post, "For this page")
        message = await reader.next_event()
    assert f'id="comment-{mine.id}"' in message.data
    assert "Not for this page" not in message.data


async def test_last_event_id_sends_what_was_missed_once_then_goes_on_live(
    live_client: Any, db: AsyncSession
) -> None:
    post = await make_post(db)
    first = await say(db, post, "One")
    seen = await events.latest(db, post.id)
    missed = [await say(db, post, "Two"), await say(db, post, "Three")]
    path = f"{post_address(post)}/comments/stream"
    async with streaming(live_client, path, **{"Last-Event-ID": str(seen)}) as reader:
        caught_up = [await reader.next_event(), await reader.next_event()]
        later = await say(db, post, "Four")
        live_one = await reader.next_event()
        # Said last, so the next message: the hub's copy of what the catch-up sent, had it
        # been sent again, would have come before it.
        fence = await say(db, post, "Five")
        following = await reader.next_event()
    for message, comment in zip(caught_up, missed, strict=True):
        assert f'id="comment-{comment.id}"' in message.data
    assert f'id="comment-{later.id}"' in live_one.data
    assert f'id="comment-{fence.id}"' in following.data
    ids = [int(m.id or 0) for m in [*caught_up, live_one]]
    assert ids == sorted(set(ids)) and ids[0] > seen
    assert all(f'id="comment-{first.id}"' not in m.data for m in [*caught_up, live_one])


async def test_the_page_tells_its_stream_where_to_take_up(
    live_client: Any, db: AsyncSession
) -> None:
    post = await make_post(db)
    await say(db, post, "Seen on the page")
    seen = await events.latest(db, post.id)
    html = await (await live_client.get(post_address(post))).get_data(as_text=True)
    stream_url = f"{post_address(post)}/comments/stream?after={seen}"
    assert f'data-hx-sse_connect="{stream_url}"' in html
    # A browser without Last-Event-ID starts from the page's `after`.
    newer = await say(db, post, "Written after the page")
    async with streaming(live_client, stream_url) as reader:
        message = await reader.next_event()
    assert f'id="comment-{newer.id}"' in message.data


async def test_a_quiet_stream_sends_keepalives(live_client: Any, db: AsyncSession) -> None:
    post = await make_post(db)
    async with streaming(live_client, f"{post_address(post)}/comments/stream") as reader:
        assert (await reader.next()).is_ping


async def test_streams_beyond_the_limit_are_told_to_come_back(
    live_client: Any, live_app: Quart, db: AsyncSession
) -> None:
    post = await make_post(db)
    path = f"{post_address(post)}/comments/stream"
    async with streaming(live_client, path), streaming(live_client, path):
        async with streaming(live_client, path):
            assert live_app.extensions[streams.HUB].open_streams == 3
            refused = await live_client.get(path)
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "5"
        # A closed stream frees its place (once its task has run its course).
        deadline = time.monotonic() + DEADLINE_SECONDS
        while live_app.extensions[streams.HUB].open_streams != 2:
            assert time.monotonic() < deadline, "a closed stream kept its place"
            await asyncio.sleep(0.02)
        async with streaming(live_client, path):
            pass


async def test_streams_end_cleanly_when_the_app_shuts_down(
    live_app: Quart, db: AsyncSession
) -> None:
    post = await make_post(db)
    async with live_app.test_app() as test_app:
        client = test_app.test_client()
        async with client.request(f"{post_address(post)}/comments/stream") as connection:
            await connection.send_complete()
            reader = Reader(connection.receive)
            assert (await reader.next()).retry == streams.RETRY_MS
            # As a server begins its shutdown (`quire serve` on SIGTERM), before it waits
            # for the responses in flight and then stops the app (engine and all).
            await streams.end_streams(live_app)
            # The response body ended: the browser reconnects elsewhere.
            with pytest.raises(EOFError):
                await reader.next()
        assert live_app.extensions[streams.HUB].open_streams == 0
        # A stream asked for now is turned away, to be asked of a worker still serving.
        late = await client.get(f"{post_address(post)}/comments/stream")
        assert late.status_code == 503 and late.headers["Retry-After"] == "5"


async def test_no_stream_for_unknown_posts_or_hidden_comments(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    post = await make_post(db, comments_enabled=False)
    hiding = create_app(
        app_config(database_url, tmp_path / "instance", QUIRE_CLOSED_COMMENTS="hide")
    )
    async with hiding.test_app() as test_app:
        client = test_app.test_client()
        assert (await client.get(f"{post_address(post)}/comments/stream")).status_code == 404
        assert (await client.get("/2020/01/01/nothing/comments/stream")).status_code == 404


# --- the moderation queue's stream --------------------------------------------------------


async def test_the_queue_stream_needs_a_signed_in_writer(live_client: Any) -> None:
    response = await live_client.get("/admin/comments/stream")
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


async def test_a_writer_sees_comments_arrive_on_their_posts_only(
    live_client: Any, db: AsyncSession, author: User
) -> None:
    other_writer = await make_user(db, "bo@example.com", "Bo Writer")
    mine = await make_post(db, author=author)
    theirs = await make_post(db, title="Not mine", author=other_writer)
    await sign_in(live_client, author.email)
    page = await (await live_client.get("/admin/comments/")).get_data(as_text=True)
    assert 'data-hx-sse_connect="/admin/comments/stream?status=pending&amp;after=0"' in page
    async with streaming(live_client, "/admin/comments/stream?status=pending") as reader:
        await say(db, theirs, "For Bo", rules=HELD)
        not_mine = await reader.next_event()
        assert not_mine.data == ""  # someone else's post: the id moves on, nothing is shown
        held = await say(db, mine, "For Ada", rules=HELD)
        arrived = await reader.next_event()
        assert (
            '<hx-partial data-hx-target="#queue-rows" data-hx-swap="upsert sort:desc">'
            in arrived.data
        )
        assert f'<tr id="comment-row-{held.id}">' in arrived.data and "For Ada" in arrived.data
        assert '<span id="pending-count" class="badge">1<' in arrived.data

        await moderation.judge(db, held, Verdict.APPROVE)
        await db.commit()
        judged = await reader.next_event()
        # No longer pending: shown as it is now where it was, not added to the list.
        assert (
            f'<hx-partial data-hx-target="#comment-row-{held.id}" data-hx-swap="outerHTML">'
            in judged.data
        )
        assert "queue-rows" not in judged.data
        assert '<span id="pending-count" class="badge" hidden>0<' in judged.data

        await moderation.remove(db, held)
        await db.commit()
        deleted = await reader.next_event()
    assert f'data-hx-target="#comment-row-{held.id}" data-hx-swap="delete"' in deleted.data


async def test_a_replaced_event_log_restarts_the_streams(
    live_client: Any, db: AsyncSession
) -> None:
    """A database restored from a backup hands out event ids already seen: the hub
    notices, ends its streams, and browsers that reconnect start from the new log."""
    post = await make_post(db)
    path = f"{post_address(post)}/comments/stream"
    async with streaming(live_client, path) as reader:
        await say(db, post, "Before the restore")
        before = await reader.next_event()
        await db.execute(delete(CommentEvent))
        if db.bind.dialect.name == "postgresql":
            await db.execute(text("ALTER SEQUENCE comment_events_id_seq RESTART WITH 1"))
        await db.commit()
        after_restore = await say(db, post, "After the restore")
        assert await events.latest(db) <= int(before.id or 0)  # the same ids again
        with pytest.raises(EOFError):
            await reader.next()
    async with streaming(live_client, f"{path}?after=0") as again:
        message = await again.next_event()
    assert f'id="comment-{after_restore.id}"' in message.data
