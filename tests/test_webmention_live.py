"""Webmention between two Quire instances on 127.0.0.1, each under `quire serve` with its
own database: a post published on one links to a post on the other; the first one's
outbox worker finds the endpoint and sends the mention, the second one's verifies it
against the first one's page and holds it for moderation."""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from components import accounts
from components.models import Comment, CommentKind, CommentStatus, PostStatus, Role
from tests.conftest import (
    DEADLINE_SECONDS,
    TEST_PASSWORD,
    backend_url,
    post_address,
    served,
    session_on,
    write_post,
)
from tests.portability import Blog

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SETTINGS = {"QUIRE_FETCH_PRIVATE": "on", "QUIRE_OUTBOX_IDLE_MS": "100"}


async def a_blog(folder: Path, *, with_post: bool) -> tuple[str, str]:
    """A blog with a writer (and a published post); its database and the post's path."""
    await asyncio.to_thread(folder.mkdir)
    url = backend_url("sqlite", folder)
    await asyncio.to_thread(Blog.empty, url, folder)
    path = ""
    async with session_on(url) as session:
        await accounts.create_user(
            session, email="ada@example.com", name="Ada", password=TEST_PASSWORD, role=Role.ADMIN
        )
        if with_post:
            post = await write_post(
                session, title="Worth a link", body="A thought.", status=PostStatus.PUBLISHED
            )
            post.comments_enabled = True
            path = post_address(post)
        await session.commit()
    return url, path


async def publish(base: str, title: str, body: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=DEADLINE_SECONDS) as writer:
        login = await writer.get("/login")
        form = {
            "email": "ada@example.com",
            "password": TEST_PASSWORD,
            "csrf_token": TOKEN.search(login.text)[1],  # type: ignore[index]
        }
        assert (await writer.post("/login", data=form, headers={"Origin": base})).status_code == 303
        editor = await writer.get("/admin/posts/new")
        post = {
            "title": title,
            "body": body,
            "action": "publish",
            "csrf_token": TOKEN.search(editor.text)[1],  # type: ignore[index]
        }
        saved = await writer.post("/admin/posts/save", data=post, headers={"Origin": base})
        assert saved.status_code == 303, saved.text


async def mentions(url: str) -> list[Comment]:
    async with session_on(url) as session:
        return list(await session.scalars(select(Comment)))


async def test_one_instance_mentions_a_post_of_the_other(tmp_path: Path) -> None:
    first_db, target_path = await a_blog(tmp_path / "first", with_post=True)
    second_db, _ = await a_blog(tmp_path / "second", with_post=False)
    with (
        served(first_db, tmp_path / "first", **SETTINGS) as first,
        served(second_db, tmp_path / "second", **SETTINGS) as second,
    ):
        target = first + target_path
        await publish(second, "A reply", f"As [Ada wrote]({target}), it holds.")
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not (found := await mentions(first_db)):
            assert time.monotonic() < deadline, "no mention arrived"
            await asyncio.sleep(0.1)
    [mention] = found
    assert mention.kind is CommentKind.MENTION and mention.status is CommentStatus.PENDING
    assert mention.source_url.startswith(second + "/") and mention.source_url.endswith("/a-reply")
    # Read from the first post's microformats: its title and its author's h-card.
    assert mention.body == "Mentioned this in “A reply”."
    assert mention.author_name == "Ada" and mention.author_url == second + "/authors/ada"
