"""The header's live search in a real Chromium, as a combobox: it fits a 320-pixel
screen, announces how many posts it found, and is driven by the keyboard alone."""

from __future__ import annotations

import re
from typing import Any

import pytest

from .test_browser_reading import eight_posts, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

EXPANDED = "document.getElementById('site-search-q').getAttribute('aria-expanded')"


async def test_live_search_is_a_combobox_that_fits_and_answers_to_keys(
    live_server: Any, page: Any
) -> None:
    live_server.seed(eight_posts)
    await page.set_viewport_size({"width": 320, "height": 640})
    await page.goto(live_server.url + "/")
    await wait_until(page, "window.htmx !== undefined")
    box = page.get_by_role("combobox", name="Search posts")

    await box.press_sequentially("zebr", delay=30)
    option = page.get_by_role("option", name=re.compile("Searchable zebra guide"))
    await option.wait_for()
    await wait_until(page, f"{EXPANDED} === 'true'")
    assert await page.locator("#search-live-status").inner_text() == "1 post found"
    # The results fit the phone's screen, the page does not scroll sideways.
    shown = await page.locator("#search-live").bounding_box()
    assert shown is not None and shown["x"] >= 0 and shown["x"] + shown["width"] <= 320
    assert await page.evaluate("document.documentElement.scrollWidth") <= 320

    await box.press("ArrowDown")
    assert await box.get_attribute("aria-activedescendant") == "search-live-1"
    assert await option.get_attribute("aria-selected") == "true"
    await box.press("Escape")
    await wait_until(page, f"{EXPANDED} === 'false'")
    assert await page.locator("#search-live [role=option]").count() == 0
    assert await box.get_attribute("aria-activedescendant") is None

    await box.press("Backspace")  # typing again brings the results back
    await option.wait_for()
    await box.press("ArrowDown")
    await box.press("Enter")
    await page.wait_for_url(re.compile(r"/searchable-zebra-guide$"))
    assert page.console_errors == []
