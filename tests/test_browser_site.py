"""The settings page in a real Chromium: saved with and without JavaScript, fitting phone
and desktop widths, and clean for axe in both colour schemes, errors shown included."""

from __future__ import annotations

import pytest

from .test_browser_reading import SCRIPTED_AND_WIDTH, axe_violations, eight_posts, fits, wait_until
from .test_browser_writing import a_writer, sign_in

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


async def a_blog(session) -> None:
    await eight_posts(session)
    await a_writer(session)


@SCRIPTED_AND_WIDTH
async def test_settings_saved_show_on_every_page(live_server, browser, scripted, width) -> None:
    live_server.seed(a_blog)
    context = await browser.new_context(
        viewport={"width": width, "height": 844}, java_script_enabled=scripted
    )
    try:
        page = await context.new_page()
        base = live_server.url
        await sign_in(page, base, scripted=scripted)
        await page.goto(base + "/admin/settings/")
        await page.fill("#setting-title", f"Field Notes {width}")
        await page.fill("#setting-language", "en-GB")
        await page.fill("#setting-footer", "Words under CC BY 4.0")
        await page.get_by_role("button", name="Save settings").click()
        await page.get_by_role("status").filter(has_text="Settings saved").wait_for()
        await fits(page)
        await page.goto(base + "/")
        assert await page.locator(".site-title").inner_text() == f"Field Notes {width}"
        assert await page.get_attribute("html", "lang") == "en-GB"
        assert "Words under CC BY 4.0" in await page.locator(".site-footer").inner_text()
        assert await page.title() == f"Field Notes {width}"
    finally:
        await context.close()


async def test_axe_finds_no_violations_on_the_settings_page(live_server, browser) -> None:
    live_server.seed(a_blog)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await sign_in(page, live_server.url)
        await page.goto(live_server.url + "/admin/settings/")
        found = {"form": await axe_violations(page)}
        await page.fill("#setting-base_url", "https://blog.example/with/a/path")
        await page.fill("#setting-language", "English")
        await page.get_by_role("button", name="Save settings").click()
        await page.get_by_role("alert").first.wait_for()
        await wait_until(page, "document.querySelectorAll('[aria-invalid=true]').length === 2")
        found["errors"] = await axe_violations(page)
        assert {name: v for name, v in found.items() if v} == {}
    finally:
        await context.close()
