"""In a real Chromium: boosted links swap the content in place, and Back restores it.

The reader's paths with JavaScript off are in test_browser_reading.py.
"""

from __future__ import annotations

import re

import pytest

from components import demo

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def test_post_link_swaps_content_without_reload_and_back_restores(live_server, page) -> None:
    live_server.seed_demo()
    newest = min((d for d in demo.DEMO_POSTS if d.days_ago is not None), key=lambda d: d.days_ago)

    await page.goto(live_server.url + "/")
    await page.wait_for_function("window.htmx !== undefined")
    await page.evaluate("window.quireMarker = 'still here'")
    home_title = await page.title()

    await page.get_by_role("link", name=newest.title).click()
    await page.wait_for_url(re.compile(r"/\d{4}/\d{2}/\d{2}/"))
    heading = page.locator("article.post h1")
    await heading.wait_for()
    assert await heading.inner_text() == newest.title
    assert await page.title() == f"{newest.title} · Quire"
    assert await page.evaluate("window.quireMarker") == "still here", "the page was reloaded"
    # Focus is on the new page's heading, where a screen reader goes on from, not <body>.
    assert await page.evaluate("document.activeElement.matches('main h1')")

    await page.go_back()
    await page.wait_for_url(live_server.url + "/")
    await page.locator("section#posts").wait_for()
    assert await page.locator("article.card").count() == 3
    assert await page.locator("article.post").count() == 0
    assert await page.title() == home_title
    assert page.console_errors == []
