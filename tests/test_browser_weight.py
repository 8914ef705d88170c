"""What a reader downloads: a post's first visit under 30 KB of compressed bodies in all,
even read down to its comments; a repeat visit under 1 KB, headers included. Counted by
Chromium from the bytes that crossed the network. The first visit's headers (some 400 to
800 bytes an answer over HTTP/1.1, far fewer under HTTP/2's compression) are reported, not
counted: they are the server's and the protocol's, not the page's weight."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from components.comments.markup import render
from components.models import Comment, CommentStatus, PostStatus
from tests.conftest import write_post

from .test_browser_reading import BODY, wait_until

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

FIRST_VISIT_LIMIT = 30 * 1024
REPEAT_VISIT_LIMIT = 1024
# The live extensions are in: loaded once the reader nears the comments.
LIVE_LOADED = (
    "performance.getEntriesByType('resource').some((entry) => entry.name.includes('hx-upsert'))"
)


async def a_post_with_comments(session: AsyncSession) -> None:
    post = await write_post(
        session,
        title="Weighed",
        slug="weighed",
        # Code, a table, maths and footnotes: a technical post of some length, whose
        # comments are more than a screen below its title.
        body=BODY * 4,
        tags=["Notes"],
        status=PostStatus.PUBLISHED,
        comments_enabled=True,
    )
    for number in range(3):
        session.add(
            Comment(
                post_id=post.id,
                author_name=f"Reader {number}",
                body="A thought.",
                body_html=render("A thought, with `code`."),
                status=CommentStatus.APPROVED,
            )
        )


class Transfer:
    """The bytes of every answer a page finished receiving: headers and body as sent,
    compressed. A stream still open (the live comments) has not finished and is not
    counted: it carries only comments published while the page is open."""

    def __init__(self, page: Any) -> None:
        self.answers: list[tuple[str, int, int]] = []  # (address, body, headers)
        self._pending: list[asyncio.Task[None]] = []
        self._page = page
        page.on("requestfinished", self._finished)

    def stop(self) -> None:
        self._page.remove_listener("requestfinished", self._finished)

    def _finished(self, request: Any) -> None:
        self._pending.append(asyncio.ensure_future(self._count(request)))

    async def _count(self, request: Any) -> None:
        sizes = await request.sizes()
        if sizes["responseBodySize"] < 0:
            return  # from the browser's cache: nothing crossed the network
        self.answers.append((request.url, sizes["responseBodySize"], sizes["responseHeadersSize"]))

    async def bodies(self) -> int:
        await asyncio.gather(*self._pending)
        return sum(body for _, body, _ in self.answers)

    async def total(self) -> int:
        await asyncio.gather(*self._pending)
        return sum(body + headers for _, body, headers in self.answers)


async def test_a_post_weighs_under_30_kb_and_a_second_visit_under_1_kb(
    live_server, browser
) -> None:
    live_server.seed(a_post_with_comments)
    # The post's address, found in a context of its own: its cache is not the reader's.
    finder = await browser.new_context()
    try:
        finding = await finder.new_page()
        await finding.goto(live_server.url + "/")
        address = await finding.locator("article.card h2 a").first.get_attribute("href")
    finally:
        await finder.close()
    assert address is not None
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = await context.new_page()
        first = Transfer(page)
        await page.goto(live_server.url + address, wait_until="networkidle")
        await wait_until(page, "window.htmx !== undefined")
        assert not await page.evaluate(LIVE_LOADED), "nothing streams above the comments"
        opened = await first.bodies()
        # The page, the stylesheet, both scripts and no more (the icon is not asked for
        # by a headless Chromium).
        assert len(first.answers) >= 4, first.answers
        assert opened < FIRST_VISIT_LIMIT, first.answers

        await page.locator("#comments").scroll_into_view_if_needed()
        await wait_until(page, LIVE_LOADED)
        await wait_until(page, "document.querySelector('.comments-live')?._htmx?.sse !== undefined")
        read_through = await first.bodies()
        assert read_through > opened, "the live extensions came with the comments"
        assert read_through < FIRST_VISIT_LIMIT, first.answers
        first.stop()

        again = Transfer(page)
        await page.goto(live_server.url + address, wait_until="load")
        await wait_until(page, "window.htmx !== undefined")
        await page.locator("#comments").scroll_into_view_if_needed()
        await wait_until(page, LIVE_LOADED)
        again_total = await again.total()
        assert again_total < REPEAT_VISIT_LIMIT, again.answers
    finally:
        await context.close()
