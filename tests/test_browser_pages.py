"""Standalone pages and the header's menu in a real Chromium: a page made in the editor and
put in the menu, with and without JavaScript, fitting phone and desktop widths, found by a
reader through the header and in no list or feed; a bad menu line refused with the menu
kept; and a page clean for axe in both colour schemes, with no sideways scroll at 320 px."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from components import site as site_settings
from components.models import PostKind, PostStatus, utcnow
from components.saving import Content, write

from .test_browser_reading import (
    BODY,
    SCRIPTED_AND_WIDTH,
    SCROLL_WIDTH,
    axe_violations,
    cards,
    eight_posts,
    fits,
    wait_until,
)
from .test_browser_writing import a_writer, sign_in

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

TITLE = "About this notebook"
TEXT = "Who writes here, and why."
MENU = "Posts /\nAbout /about"
CLIENT_WIDTH = "document.documentElement.clientWidth"
SITE_NAV = "header.site-header nav[aria-label=Site] a"


async def a_blog(session: AsyncSession) -> None:
    """Eight posts and the admin `sign_in` signs in as."""
    await eight_posts(session)
    await a_writer(session)


def errors_of(page) -> list[str]:
    """The console errors and uncaught exceptions `page` shows from now on."""
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def header_links(page) -> list[tuple[str, str, str | None]]:
    """The header menu's links: label, address, and aria-current."""
    links = await page.locator(SITE_NAV).all()
    return [
        (
            await link.inner_text(),
            await link.get_attribute("href"),
            await link.get_attribute("aria-current"),
        )
        for link in links
    ]


async def open_settings(page, base: str, *, scripted: bool) -> None:
    await page.goto(base + "/admin/settings/")
    if scripted:
        await wait_until(page, "window.htmx !== undefined")


async def save_menu(page, menu: str) -> int:
    """Type `menu` into the settings form and save it: the status the server answered the
    post with (saved: 303, or 200 with HX-Location for htmx, whose fetch follows no 3xx)."""
    await page.fill("#setting-menu", menu)
    async with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/admin/settings/")
    ) as answer:
        await page.get_by_role("button", name="Save settings").click()
    return (await answer.value).status


async def saved(page) -> None:
    await page.get_by_role("status").filter(has_text="Settings saved").wait_for()


@SCRIPTED_AND_WIDTH
async def test_a_page_made_in_the_editor_is_reached_through_the_menu(
    live_server, browser, scripted, width
) -> None:
    live_server.seed(a_blog)
    base = live_server.url
    options = {"viewport": {"width": width, "height": 844}, "java_script_enabled": scripted}
    admin = await browser.new_context(**options)
    reader = await browser.new_context(**options)
    try:
        page = await admin.new_page()
        await sign_in(page, base, scripted=scripted)
        await page.locator("nav.admin-nav").get_by_role("link", name="New page").click()
        await page.wait_for_url(base + "/admin/posts/new?kind=page")
        await page.locator("h1.page-title", has_text="New page").wait_for()
        await fits(page)
        await page.fill("#editor-title", TITLE)
        await page.fill("#editor-slug", "about")
        await page.fill("#editor-body", f"{TEXT}\n\n## Contact\n\nWrite to me.")
        async with page.expect_response(
            lambda r: r.request.method == "POST" and r.url.endswith("/admin/posts/save")
        ) as answer:
            await page.get_by_role("button", name="Publish now").click()
        assert (await answer.value).status == (200 if scripted else 303)
        if scripted:
            await page.locator("#editor-status", has_text=": published.").wait_for()
        else:
            await page.wait_for_url(re.compile(r"/admin/posts/\d+/edit\?saved=1$"))
            await page.locator("#editor-status", has_text="Saved.").wait_for()

        await page.locator("nav.admin-nav").get_by_role("link", name="Settings").click()
        await page.wait_for_url(base + "/admin/settings/")
        if scripted:
            await wait_until(page, "window.htmx !== undefined")
        assert await save_menu(page, MENU) == (200 if scripted else 303)
        await saved(page)
        assert await page.locator("#setting-menu").input_value() == MENU
        await fits(page)

        theirs = await reader.new_page()
        errors = errors_of(theirs)
        await theirs.goto(base + "/")
        if scripted:
            await wait_until(theirs, "window.htmx !== undefined")
        assert await header_links(theirs) == [
            ("Posts", "/", "page"),
            ("About", "/about", None),
        ]
        # The newest thing published, yet neither a card nor a link in the list.
        shown = await cards(theirs)  # more may come as they scroll into view, with script
        assert shown[:3] == ["Post 8", "Post 7", "Post 6"] and TITLE not in shown
        assert await theirs.locator("main a[href='/about']").count() == 0
        assert TITLE not in await theirs.locator("main").inner_text()
        await fits(theirs)

        await theirs.locator(SITE_NAV, has_text="About").click()
        await theirs.wait_for_url(base + "/about")
        await theirs.locator("main h1", has_text=TITLE).wait_for()
        assert TEXT in await theirs.locator("article.page .prose").inner_text()
        assert await theirs.locator("article.page .byline").count() == 0
        assert await header_links(theirs) == [
            ("Posts", "/", None),
            ("About", "/about", "page"),
        ]
        await fits(theirs)

        # And back through the menu: the current entry follows.
        await theirs.locator(SITE_NAV, has_text="Posts").click()
        await theirs.wait_for_url(base + "/")
        await theirs.locator("article.card").first.wait_for()
        assert [current for *_, current in await header_links(theirs)] == ["page", None]

        feed = await (await theirs.request.get(base + "/feed.xml")).text()
        assert "Post 8" in feed, "the feed lists the posts"
        assert TITLE not in feed and TEXT not in feed and f"{base}/about" not in feed
        archive = await (await theirs.request.get(base + "/archive")).text()
        assert "Post 1" in archive and TITLE not in archive
        sitemap = await (await theirs.request.get(base + "/sitemap.xml")).text()
        assert f"<loc>{base}/about</loc>" in sitemap
        assert errors == []
    finally:
        await reader.close()
        await admin.close()


@pytest.mark.parametrize("scripted", [True, False], ids=["js", "no-js"])
async def test_a_bad_menu_line_is_named_and_the_menu_kept(live_server, browser, scripted) -> None:
    live_server.seed(a_blog)
    base = live_server.url
    context = await browser.new_context(java_script_enabled=scripted)
    try:
        page = await context.new_page()
        await sign_in(page, base, scripted=scripted)
        await open_settings(page, base, scripted=scripted)
        default = [("Posts", "/", None), ("Tags", "/tags", None), ("Archive", "/archive", None)]

        # No menu yet: a bad first line is refused, and the default menu stays.
        assert await save_menu(page, "Bad javascript:alert(1)") == 422
        error = page.locator("#menu-error")
        await error.wait_for()
        assert "line 1" in await error.inner_text()
        assert "javascript:alert(1)" in await error.inner_text()
        assert await page.locator("#setting-menu").get_attribute("aria-invalid") == "true"
        assert await page.locator("#setting-menu").input_value() == "Bad javascript:alert(1)"
        await page.goto(base + "/archive")
        assert await header_links(page) == [*default[:2], ("Archive", "/archive", "page")]

        # A good menu saved, then a bad second line: named, and the good menu kept.
        await open_settings(page, base, scripted=scripted)
        assert await save_menu(page, MENU) == (200 if scripted else 303)
        await saved(page)
        bad = f"{MENU}\nBad javascript:alert(1)"
        assert await save_menu(page, bad) == 422
        await page.get_by_role("alert").filter(has_text="Nothing was saved").wait_for()
        assert "line 3" in await page.locator("#menu-error").inner_text()
        assert await page.locator("#setting-menu").input_value() == bad, "kept to fix"

        await open_settings(page, base, scripted=scripted)
        assert await page.locator("#setting-menu").input_value() == MENU
        assert await page.locator("#menu-error").count() == 0
        await page.goto(base + "/")
        assert await header_links(page) == [("Posts", "/", "page"), ("About", "/about", None)]
        assert await page.locator(SITE_NAV, has_text="Bad").count() == 0
    finally:
        await context.close()


async def a_page_in_the_menu(session: AsyncSession) -> None:
    """The blog, a published About page with headings, code, a table and maths in it, and
    a menu that leads to it and elsewhere."""
    await a_blog(session)
    content = Content(
        title=TITLE,
        slug="about",
        # A long unbroken address must wrap on a phone, not widen the page.
        body=f"{TEXT} https://code.example/a/very/long/address/that-never-breaks-by-itself\n\n{BODY}",
        status=PostStatus.PUBLISHED,
        published_at=utcnow(),
        kind=PostKind.PAGE,
    )
    await write(session, None, content, author=None, revision=None)
    await site_settings.save_menu(
        session,
        # Five entries: more than fit on one line at 320 px, so the menu must wrap.
        site_settings.parse_menu(
            f"{MENU}\nTags /tags\nArchive /archive\nCode https://code.example"
        ),
    )


async def test_axe_finds_no_violations_on_a_page_and_it_fits_a_phone(live_server, browser) -> None:
    live_server.seed(a_page_in_the_menu)
    context = await browser.new_context(viewport={"width": 320, "height": 640})
    try:
        page = await context.new_page()
        errors = errors_of(page)
        await page.goto(live_server.url + "/about")
        await page.locator("main h1", has_text=TITLE).wait_for()
        await wait_until(page, "window.htmx !== undefined")
        assert await header_links(page) == [
            ("Posts", "/", None),
            ("About", "/about", "page"),
            ("Tags", "/tags", None),
            ("Archive", "/archive", None),
            ("Code", "https://code.example", None),
        ]
        assert await page.evaluate(f"{SCROLL_WIDTH} <= {CLIENT_WIDTH}"), "no sideways scroll"
        assert await axe_violations(page) == []
        assert errors == []
    finally:
        await context.close()
