"""In a real Chromium: boosted links swap the content in place, and Back restores it."""

from __future__ import annotations

import re

import pytest

from components import demo

pytestmark = pytest.mark.browser


def test_post_link_swaps_content_without_reload_and_back_restores(live_server, page) -> None:
    live_server.seed_demo()
    newest = min((d for d in demo.DEMO_POSTS if d.days_ago is not None), key=lambda d: d.days_ago)

    page.goto(live_server.url + "/")
    page.wait_for_function("window.htmx !== undefined")
    page.evaluate("window.quireMarker = 'still here'")
    home_title = page.title()

    page.get_by_role("link", name=newest.title).click()
    page.wait_for_url(re.compile(r"/\d{4}/\d{2}/\d{2}/"))
    heading = page.locator("article.post h1")
    heading.wait_for()
    assert heading.inner_text() == newest.title
    assert page.title() == f"{newest.title} · Quire"
    assert page.evaluate("window.quireMarker") == "still here", "the page was reloaded"

    page.go_back()
    page.wait_for_url(live_server.url + "/")
    page.locator("section#posts").wait_for()
    assert page.locator("article.card").count() == 3
    assert page.locator("article.post").count() == 0
    assert page.title() == home_title
    assert page.console_errors == []


def test_pages_work_without_javascript(live_server, browser) -> None:
    live_server.seed_demo()
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/")
        page.get_by_role("link", name="Welcome to Quire").click()
        page.wait_for_url(re.compile(r"/welcome-to-quire$"))
        assert page.locator("article.post h1").inner_text() == "Welcome to Quire"
    finally:
        context.close()
