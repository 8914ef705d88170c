"""Private preview links in a real Chromium: a writer makes one in the editor (htmx swaps
the box; without JavaScript the Preview links page shows it), someone without an account
reads the draft through it, the writer revokes it and the link stops working. Fitting
phone and desktop widths, and clean for axe in both colour schemes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from components.models import Post

from .conftest import run_async, session_on
from .test_browser_reading import SCRIPTED_AND_WIDTH, axe_violations, fits, wait_until
from .test_browser_writing import a_writer_and_a_post, sign_in

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


def post_id(database_url: str) -> int:
    async def find() -> int:
        async with session_on(database_url) as session:
            found = await session.scalar(select(Post.id).where(Post.slug == "shared-draft"))
            assert found is not None
            return found

    return run_async(find())


async def open_editor(page, base: str, number: int, *, scripted: bool) -> None:
    await page.goto(f"{base}/admin/posts/{number}/edit")
    if scripted:
        await wait_until(page, "window.htmx !== undefined")


async def make_link(page, *, scripted: bool) -> str:
    """Click "7 days" in the box and read the link shown once."""
    box = page.locator("#preview-links")
    await box.get_by_role("button", name="7 days").click()
    await page.locator("#preview-new-url").wait_for()
    if not scripted:
        await page.get_by_role("heading", name="Preview links", level=1).wait_for()
    return await page.locator("#preview-new-url").input_value()


@SCRIPTED_AND_WIDTH
async def test_a_reviewer_reads_the_draft_until_the_link_is_revoked(
    live_server, browser, scripted, width
) -> None:
    live_server.seed(a_writer_and_a_post)
    base = live_server.url
    number = post_id(live_server.database_url)
    options = {"viewport": {"width": width, "height": 844}, "java_script_enabled": scripted}
    writer = await browser.new_context(**options)
    reviewer = await browser.new_context(**options)
    try:
        page = await writer.new_page()
        await sign_in(page, base, scripted=scripted)
        await open_editor(page, base, number, scripted=scripted)
        assert "No live links." in await page.locator("#preview-links").inner_text()
        await fits(page)
        # Set on this document only: a page loaded again would not have it.
        await page.evaluate("document.documentElement.dataset.kept = 'yes'")
        link = await make_link(page, scripted=scripted)
        assert link.startswith(base + "/preview/")
        if scripted:
            # The box alone was swapped: the editor stays, and nothing was saved.
            assert await page.evaluate("document.documentElement.dataset.kept") == "yes"
            assert page.url == f"{base}/admin/posts/{number}/edit"
            assert await page.locator("#editor-title").input_value() == "Shared draft"
            assert await page.locator("#editor-status").inner_text() == ""
            assert await page.get_by_role("button", name="Copy link").is_visible()
        assert "works until" in await page.locator("#preview-links").inner_text()
        await fits(page)

        theirs = await reviewer.new_page()
        response = await theirs.goto(link)
        assert response is not None and response.status == 200
        assert response.headers["x-robots-tag"] == "noindex, nofollow"
        assert "Private preview." in await theirs.locator(".preview-banner").inner_text()
        assert await theirs.locator("h1").inner_text() == "Shared draft"
        assert "The first text." in await theirs.locator(".prose").inner_text()
        await fits(theirs)

        # Revoked from the editor (with JavaScript) or the Preview links page (without).
        await open_editor(page, base, number, scripted=scripted)
        await page.locator("#preview-links").get_by_role("button", name="Revoke").click()
        await page.get_by_role("status").filter(has_text="Link revoked").wait_for()
        assert "No live links." in await page.locator("#preview-links").inner_text()
        if not scripted:
            assert "/previews?notice=" in page.url

        response = await theirs.goto(link)
        assert response is not None and response.status == 404
        assert "Preview link not found" in await theirs.locator("h1").inner_text()
    finally:
        await reviewer.close()
        await writer.close()


async def test_the_box_follows_the_saves_of_a_new_post(live_server, page) -> None:
    """No reload: the first save brings the box, Publish now turns it to the address."""
    live_server.seed(a_writer_and_a_post)
    base = live_server.url
    await sign_in(page, base)
    await page.goto(base + "/admin/posts/new")
    await wait_until(page, "window.htmx !== undefined")
    assert not await page.locator("#preview-links").is_visible()
    await page.fill("#editor-title", "Brand new")
    await page.get_by_role("button", name="Save draft").click()
    await wait_until(page, "location.pathname.endsWith('/edit')")
    link = await make_link(page, scripted=True)
    assert link.startswith(base + "/preview/")
    await page.get_by_role("button", name="Publish now").click()
    box = page.locator("#preview-links")
    await box.get_by_text("Readers can see this post now").wait_for()
    assert await box.get_by_role("button", name="7 days").count() == 0
    assert await box.get_by_role("button", name="Revoke").count() == 1
    assert page.console_errors == []


async def test_axe_finds_no_violations_in_the_box_and_the_preview(
    live_server, browser, tmp_path
) -> None:
    live_server.seed(a_writer_and_a_post)
    base = live_server.url
    number = post_id(live_server.database_url)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await sign_in(page, base)
        await open_editor(page, base, number, scripted=True)
        link = await make_link(page, scripted=True)
        found = {"editor": await axe_violations(page)}
        await page.screenshot(path=tmp_path / "editor-preview-links.png", full_page=True)
        await page.goto(f"{base}/admin/posts/{number}/previews")
        found["links-page"] = await axe_violations(page)

        reader = await browser.new_context()
        try:
            theirs = await reader.new_page()
            await theirs.goto(link)
            found["preview"] = await axe_violations(theirs)
            await theirs.screenshot(path=tmp_path / "preview.png", full_page=True)
            await theirs.goto(base + "/preview/not-a-link")
            found["gone"] = await axe_violations(theirs)
        finally:
            await reader.close()
        assert {name: v for name, v in found.items() if v} == {}
    finally:
        await context.close()
