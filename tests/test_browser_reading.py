"""Reading in a real Chromium: paging, infinite scroll, live search, sharing, no-JS, axe."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import PostStatus, utcnow
from components.settings import PROJECT_ROOT

from .conftest import DEADLINE_SECONDS, write_post

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
BODY = (
    "Opening words of a post.\n\n## Setup\n\nInstall it with `pip`.\n\n"
    "```python\nprint('hello')\n```\n\n## Usage\n\nThe cost is $O(n^2)$ here.\n\n"
    "### Details\n\nA table:\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n## Wrap-up\n\nDone.[^1]\n\n"
    "[^1]: A footnote.\n"
)


async def eight_posts(session: AsyncSession) -> None:
    now = utcnow()
    for number in range(1, 9):
        title = "Searchable zebra guide" if number == 2 else f"Post {number}"
        await write_post(
            session,
            title=title,
            body=BODY,
            tags=["Notes", f"Series {number % 2}"],
            status=PostStatus.PUBLISHED,
            published_at=now - timedelta(days=10 - number),
            # Post 7, which the audits open, is the second of three parts.
            series="Zebra care" if number >= 6 else None,
        )


async def wait_until(page, expression: str) -> None:
    """Poll a JS expression through evaluate(), which our CSP cannot block (unlike
    wait_for_function, whose polling evals its predicate in the page). The deadline only
    ends a hung test."""
    async with asyncio.timeout(DEADLINE_SECONDS):
        for _ in iter(int, 1):  # until it holds; the timeout bounds it
            if await page.evaluate(expression):
                return
            await asyncio.sleep(0.05)


# A phone's width and a desktop's: a page fits both without scrolling sideways.
WIDTHS = (390, 1280)
# A flow run at one width, and once more at the other with JavaScript off: each width
# and each way of working gets a whole flow, and `fits` checks both widths at every step.
SCRIPTED_AND_WIDTH = pytest.mark.parametrize(
    ("scripted", "width"), [(True, 390), (False, 1280)], ids=["js-390", "no-js-1280"]
)
SCROLL_WIDTH = "document.documentElement.scrollWidth"


async def fits(page, widths: tuple[int, ...] = WIDTHS) -> None:
    """No sideways scroll at any of `widths`: the page is laid out again at each, then
    at its own width once more."""
    own = page.viewport_size
    try:
        for width in widths:
            await page.set_viewport_size({"width": width, "height": own["height"]})
            assert await page.evaluate(SCROLL_WIDTH) <= width, (page.url, width)
    finally:
        await page.set_viewport_size(own)


# A page loaded with JavaScript off runs no timer, and axe waits on timers between its
# checks: in such a page alone, a timer runs as soon as what is running now has finished.
TIMERS_AT_ONCE = """(() => {
  window.setTimeout = (callback, _delay, ...args) => {
    Promise.resolve().then(() => callback(...args));
    return 0;
  };
  window.clearTimeout = () => {};
})()"""


async def axe_now(page) -> list[tuple[str, list]]:
    """What axe-core finds wrong with the page as it is shown now, in its current colour
    scheme: (rule, where) for each. axe is evaluated through the DevTools protocol, as a
    console would, so the page keeps its strict CSP: a script tag would be refused by it,
    rightly."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run npm ci")
    if await page.evaluate("typeof axe === 'undefined'"):
        if not await page.evaluate("document.documentElement.classList.contains('js')"):
            await page.evaluate(TIMERS_AT_ONCE)  # quire.js never ran: scripting is off
        await page.evaluate(AXE.read_text())
    result = await page.evaluate("axe.run(document)")
    return [(v["id"], [node["target"] for node in v["nodes"]]) for v in result["violations"]]


async def axe_violations(page) -> list[tuple[str, str, list]]:
    """What axe finds wrong with the page as it is now, in the light colour scheme and in
    the dark one: (scheme, rule, where) for each."""
    found = []
    for scheme in ("light", "dark"):
        await page.emulate_media(color_scheme=scheme)
        query = f"matchMedia('(prefers-color-scheme: {scheme})').matches"
        assert await page.evaluate(query), f"the page is not shown {scheme}"
        found += [(scheme, rule, where) for rule, where in await axe_now(page)]
    return found


def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: QUIRE_SCREENSHOTS when set (.ci/run keeps them there as the
    run's artifacts), else the test's own folder."""
    folder = Path(os.environ.get("QUIRE_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def cards(page) -> list[str]:
    return await page.locator("article.card h2").all_inner_texts()


async def test_older_posts_appends_in_place_and_pushes_the_url(live_server, page) -> None:
    live_server.seed(eight_posts)
    await page.set_viewport_size({"width": 1000, "height": 420})
    await page.goto(live_server.url + "/")
    await wait_until(page, "window.htmx !== undefined")
    await page.evaluate("window.quireMarker = 'kept'")
    assert await cards(page) == ["Post 8", "Post 7", "Post 6"]
    entries = await page.evaluate("history.length")

    # A click from script: scrolling the link into view would also start the infinite scroll.
    await page.locator("nav.pager a[rel=next]").evaluate("link => link.click()")
    await wait_until(page, "document.querySelectorAll('article.card').length === 6")
    assert await cards(page) == ["Post 8", "Post 7", "Post 6", "Post 5", "Post 4", "Post 3"]
    assert "?before=" in page.url
    assert await page.evaluate("history.length") == entries + 1
    assert await page.evaluate("window.quireMarker") == "kept", "no reload"

    pushed = page.url
    await page.reload()
    assert page.url == pushed
    assert await cards(page) == ["Post 5", "Post 4", "Post 3"]
    # Reloaded further down the list, the reader has a way back to its start.
    newest = page.get_by_role("link", name="Newest posts")
    assert await newest.get_attribute("href") == "/"

    await page.go_back()
    await page.wait_for_url(live_server.url + "/")
    await wait_until(page, "document.querySelector('article.card h2').innerText === 'Post 8'")
    assert await cards(page) == ["Post 8", "Post 7", "Post 6"]
    assert page.console_errors == []


async def test_scrolling_to_the_end_loads_the_next_posts(live_server, page) -> None:
    live_server.seed(eight_posts)
    await page.set_viewport_size({"width": 1000, "height": 420})
    await page.goto(live_server.url + "/")
    await wait_until(page, "window.htmx !== undefined")
    entries = await page.evaluate("history.length")
    for expected in (6, 8):
        await page.mouse.wheel(0, 20_000)
        await wait_until(page, f"document.querySelectorAll('article.card').length === {expected}")
    assert len(set(await cards(page))) == 8
    assert await page.locator("nav.pager").count() == 0
    assert page.url == live_server.url + "/", "scrolling leaves the address alone"
    assert await page.evaluate("history.length") == entries, "scrolling adds no history"
    assert page.console_errors == []


async def test_back_restores_a_list_scrolled_through_three_pages(live_server, page) -> None:
    live_server.seed(eight_posts)
    await page.set_viewport_size({"width": 1000, "height": 420})
    await page.goto(live_server.url + "/")
    await wait_until(page, "window.htmx !== undefined")
    for expected in (6, 8):
        await page.mouse.wheel(0, 20_000)
        await wait_until(page, f"document.querySelectorAll('article.card').length === {expected}")
    chosen = page.locator("article.card", has_text="Post 1")
    await chosen.scroll_into_view_if_needed()
    scrolled = await page.evaluate("window.scrollY")
    assert scrolled > 0
    await chosen.locator("h2 a").click()
    await page.wait_for_url(re.compile(r"/post-1$"))
    await wait_until(page, "document.querySelector('main h1')?.innerText === 'Post 1'")

    await page.go_back()
    await page.wait_for_url(live_server.url + "/")
    await wait_until(page, "document.querySelectorAll('article.card').length === 8")
    assert len(set(await cards(page))) == 8, "all three pages, each card once"
    await wait_until(page, f"Math.abs(window.scrollY - {scrolled}) <= 2")
    box = await chosen.bounding_box()
    assert box is not None and 0 <= box["y"] < 420, "the card followed is in view again"
    assert page.url == live_server.url + "/", "the address is the list's own"
    # Paging on from the restored list goes on after its last card: nothing to add here.
    assert await page.locator("nav.pager").count() == 0
    assert page.console_errors == []


async def test_live_search_shows_results_and_back_returns(live_server, page) -> None:
    live_server.seed(eight_posts)
    await page.goto(live_server.url + "/")
    await page.get_by_role("link", name="Post 5").click()
    await page.wait_for_url(re.compile(r"/post-5$"))
    post_url = page.url
    await wait_until(page, "window.htmx !== undefined")

    box = page.get_by_role("combobox", name="Search posts")
    await box.press_sequentially("zebr", delay=30)
    live = page.locator("#search-live .hit-title")
    await live.first.wait_for()
    assert await live.all_inner_texts() == ["Searchable zebra guide"]
    assert page.url == post_url, "typing does not navigate"

    await box.press("Enter")
    await page.wait_for_url(re.compile(r"/search\?q=zebr$"))
    await page.locator("main .hit-title").first.wait_for()
    assert await page.locator("main h1").inner_text() == "Search"

    await page.go_back()
    await page.wait_for_url(post_url)
    await page.locator("article.post h1").wait_for()
    assert await page.locator("article.post h1").inner_text() == "Post 5"
    assert page.console_errors == []


async def test_copy_link_button_copies_the_canonical_address(live_server, browser) -> None:
    live_server.seed(eight_posts)
    context = await browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        page = await context.new_page()
        await page.goto(live_server.url + "/")
        await page.get_by_role("link", name="Post 3").click()
        await page.wait_for_url(re.compile(r"/post-3$"))
        button = page.get_by_role("button", name="Copy link")
        assert await button.is_visible()
        await button.click()
        await page.get_by_text("Link copied.").wait_for()
        assert await page.evaluate("navigator.clipboard.readText()") == page.url
    finally:
        await context.close()


async def test_every_page_works_without_javascript(live_server, browser) -> None:
    live_server.seed(eight_posts)
    context = await browser.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        await page.goto(live_server.url + "/")
        await page.get_by_role("link", name="Older posts").click()
        await page.wait_for_url(re.compile(r"\?before="))
        assert await cards(page) == ["Post 5", "Post 4", "Post 3"]

        await page.get_by_role("link", name="#Series 1").first.click()
        await page.wait_for_url(re.compile(r"/tags/series-1$"))
        assert "Posts tagged" in await page.locator("main h1").inner_text()

        await page.get_by_role("link", name="Archive").click()
        await page.wait_for_url(re.compile(r"/archive$"))
        assert await page.locator("#archive li").count() == 8

        await page.get_by_role("link", name="Tags").click()
        await page.wait_for_url(re.compile(r"/tags$"))
        assert await page.get_by_text("8 posts").count() == 1

        await page.get_by_role("combobox", name="Search posts").fill("zebra")
        await page.get_by_role("button", name="Search").first.click()
        await page.wait_for_url(re.compile(r"/search\?q=zebra$"))
        await page.get_by_role("link", name="Searchable zebra guide").click()
        await page.wait_for_url(re.compile(r"/searchable-zebra-guide$"))
        assert await page.locator("nav.toc li").count() == 4
        assert await page.locator("math").count() == 1
        assert not await page.get_by_role("button", name="Copy link").is_visible()
    finally:
        await context.close()


READER_PATHS = (
    "/",
    "/tags",
    "/tags/notes",
    "/series/zebra-care",
    "/archive",
    "/search?q=zebra",
    "/nowhere",
)


# The two screens every page type is looked at on.
VIEWPORTS = ({"width": 390, "height": 844}, {"width": 1280, "height": 800})


def shot_name(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


async def test_reader_pages_fit_and_pass_axe_on_a_phone_and_a_desktop(
    live_server, browser, tmp_path: Path
) -> None:
    """Every reader's page type at 390x844 and 1280x800, light and dark, with the strict
    CSP on: no sideways scroll, nothing for axe, and a screenshot of each kept."""
    live_server.seed(eight_posts)
    folder = screenshots(tmp_path)
    found = {}
    for viewport in VIEWPORTS:
        width = viewport["width"]
        context = await browser.new_context(viewport=viewport)
        try:
            page = await context.new_page()
            await page.goto(live_server.url + "/")
            post_path = await page.get_by_role("link", name="Post 7").get_attribute("href")
            for path in (*READER_PATHS, "/login", post_path):
                await page.goto(live_server.url + path)
                await wait_until(page, "window.htmx !== undefined")
                assert await page.evaluate(SCROLL_WIDTH) <= width, (path, width)
                for scheme in ("light", "dark"):
                    await page.emulate_media(color_scheme=scheme)
                    found[path, width, scheme] = await axe_now(page)
                    shot = folder / f"reader-{shot_name(path)}-{width}-{scheme}.png"
                    await page.screenshot(path=shot, full_page=True)
        finally:
            await context.close()
    assert {where: v for where, v in found.items() if v} == {}


SHIFTS = """(() => {
  window.__shift = 0;
  window.__htmxProcessed = false;
  const add = (entries) => {
    for (const e of entries) { if (!e.hadRecentInput) window.__shift += e.value; }
  };
  const observer = new PerformanceObserver((list) => add(list.getEntries()));
  observer.observe({type: 'layout-shift', buffered: true});
  window.__addPendingShifts = () => add(observer.takeRecords());
  document.addEventListener('htmx_after_process', (event) => {
    if (event.target === document.body) window.__htmxProcessed = true;
  });
})();"""
# Everything that moves the layout has happened: the page and its images loaded, its
# fonts in, htmx done with it.
SETTLED = (
    "document.readyState === 'complete' && document.fonts.status === 'loaded'"
    " && window.__htmxProcessed"
)
# Two frames on, that layout has been drawn (and any shift in it recorded); the shifts not
# yet handed to the observer are taken too.
WIDTH_AND_SHIFT = """async () => {
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  window.__addPendingShifts();
  return [document.documentElement.scrollWidth, window.__shift];
}"""


async def test_narrow_screens_and_no_layout_shift(live_server, browser) -> None:
    live_server.seed(eight_posts)
    context = await browser.new_context(viewport={"width": 320, "height": 640})
    await context.add_init_script(SHIFTS)
    try:
        page = await context.new_page()
        await page.goto(live_server.url + "/")
        post_path = await page.get_by_role("link", name="Post 7").get_attribute("href")
        for path in (*READER_PATHS, post_path):
            await page.goto(live_server.url + path)
            await wait_until(page, SETTLED)
            width, shift = await page.evaluate(WIDTH_AND_SHIFT)
            assert width <= 320, (path, width)
            assert shift == 0, path
    finally:
        await context.close()
