"""New posts by email in a real Chromium, against `quire serve` with mail on: a reader
subscribes with and without JavaScript at phone and desktop widths, confirms from the
mailed link, and an admin reads the Subscribers page; each page is clean for axe in both
colour schemes and fits every width."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components import accounts
from components.models import Role
from tests.portability import Blog

from .conftest import TEST_PASSWORD, backend_url, run_async, served, session_on
from .mailbox import mailbox, parts
from .test_browser_reading import SCRIPTED_AND_WIDTH, axe_violations, fits, wait_until
from .test_newsletter_live import mail_settings

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

ADMIN = "admin@example.com"


def a_blog(folder: Path) -> str:
    """An empty SQLite blog with an admin in it."""
    url = backend_url("sqlite", folder)
    Blog.empty(url, folder)

    async def admin() -> None:
        async with session_on(url) as session:
            await accounts.create_user(
                session, email=ADMIN, name="Ada Admin", password=TEST_PASSWORD, role=Role.ADMIN
            )
            await session.commit()

    run_async(admin())
    return url


@SCRIPTED_AND_WIDTH
async def test_a_reader_subscribes_and_confirms_in_the_browser(
    browser, scripted: bool, width: int, tmp_path: Path
) -> None:
    url = a_blog(tmp_path)
    with mailbox() as box, served(url, tmp_path, **mail_settings(box)) as base:
        context = await browser.new_context(
            viewport={"width": width, "height": 844}, java_script_enabled=scripted
        )
        try:
            page = await context.new_page()
            await page.goto(base + "/")
            await page.get_by_role("link", name="New posts by email").click()
            await page.wait_for_url(base + "/subscribe")
            await page.fill("#subscribe-email", "nope")
            await page.get_by_role("button", name="Subscribe").click()
            await page.get_by_role("alert").wait_for()
            assert await page.locator("#subscribe-email").get_attribute("aria-invalid")
            await page.fill("#subscribe-email", "reader@example.org")
            await page.get_by_role("button", name="Subscribe").click()
            notice = page.locator(".notice[role=status]")
            await notice.wait_for()
            assert "reader@example.org" in await notice.inner_text()
            await fits(page)

            [confirmation] = box.wait_for(1)
            link = re.search(r"http://\S+/subscribe/confirm/\S+", parts(confirmation)[0])
            assert link
            await page.goto(link[0])
            await page.get_by_role("button", name="Confirm").click()
            await page.get_by_role("heading", name="You are subscribed").wait_for()
            await fits(page)
        finally:
            await context.close()


async def test_axe_finds_no_violations_on_the_newsletter_pages(browser, tmp_path: Path) -> None:
    url = a_blog(tmp_path)
    with mailbox() as box, served(url, tmp_path, **mail_settings(box)) as base:
        context = await browser.new_context()
        try:
            page = await context.new_page()
            found = {}
            await page.goto(base + "/subscribe")
            found["form"] = await axe_violations(page)
            await page.fill("#subscribe-email", "x")
            await page.get_by_role("button", name="Subscribe").click()
            await page.get_by_role("alert").wait_for()
            found["refused"] = await axe_violations(page)
            await page.fill("#subscribe-email", "reader@example.org")
            await page.get_by_role("button", name="Subscribe").click()
            await page.locator(".notice[role=status]").wait_for()
            found["sent"] = await axe_violations(page)
            [confirmation] = box.wait_for(1)
            link = re.search(r"http://\S+/subscribe/confirm/\S+", parts(confirmation)[0])
            assert link
            await page.goto(link[0])
            found["confirm"] = await axe_violations(page)

            await page.goto(base + "/login")
            await page.fill("#login-email", ADMIN)
            await page.fill("#login-password", TEST_PASSWORD)
            await page.click("#login-form button[type=submit]")
            await page.wait_for_url(base + "/admin/")
            await wait_until(page, "window.htmx !== undefined")
            await page.goto(base + "/admin/subscribers/")
            await page.get_by_role("cell", name="reader@example.org", exact=True).wait_for()
            found["admin"] = await axe_violations(page)
            await fits(page)
        finally:
            await context.close()
    assert found == {key: [] for key in found}
