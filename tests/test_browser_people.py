"""The Users page and the one-time password page in a real Chromium: someone added and
their link used, someone disabled while signed in, with and without JavaScript, fitting
phone and desktop widths, and clean for axe in both colour schemes, errors shown included."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from components import accounts
from components.models import Role

from .conftest import TEST_PASSWORD
from .test_browser_reading import SCRIPTED_AND_WIDTH, axe_violations, eight_posts, fits, wait_until
from .test_browser_writing import a_writer, sign_in

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

AUTHOR = "ada@example.com"
NEW_PASSWORD = "a fresh and long password"


async def a_team(session: AsyncSession) -> None:
    """Some posts, the admin `sign_in` signs in as, and an author."""
    await eight_posts(session)
    await a_writer(session)
    await accounts.create_user(
        session, email=AUTHOR, name="Ada Author", password=TEST_PASSWORD, role=Role.AUTHOR
    )


async def sign_in_as(page, base: str, email: str, password: str) -> None:
    """Sign in as anyone, from the sign-in page already open."""
    await page.fill("#login-email", email)
    await page.fill("#login-password", password)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(base + "/admin/")


async def users_page(page, base: str, *, scripted: bool = True) -> None:
    await page.goto(base + "/admin/users/")
    if scripted:
        await wait_until(page, "window.htmx !== undefined")


async def add_someone(page, email: str, name: str) -> None:
    await page.fill("#new-email", email)
    await page.fill("#new-name", name)
    await page.select_option("#new-role", "author")
    await page.get_by_role("button", name="Add and make a link").click()


@SCRIPTED_AND_WIDTH
async def test_someone_added_sets_a_password_with_their_link_and_signs_in(
    live_server, browser, scripted, width
) -> None:
    live_server.seed(a_team)
    base = live_server.url
    options = {"viewport": {"width": width, "height": 844}, "java_script_enabled": scripted}
    admin = await browser.new_context(**options)
    newcomer = await browser.new_context(**options)
    try:
        page = await admin.new_page()
        await sign_in(page, base, scripted=scripted)
        await users_page(page, base, scripted=scripted)
        await fits(page)
        email = f"new{width}@example.com"
        await add_someone(page, email, "Nell Newcomer")
        await page.get_by_role("status").filter(has_text=f"Account made for {email}").wait_for()
        link = await page.locator("#people-link").input_value()
        assert link.startswith(base + "/reset/")
        assert await page.locator("tr", has_text=email).locator("td").nth(1).inner_text() == (
            "author"
        )
        await fits(page)

        theirs = await newcomer.new_page()
        await theirs.goto(link)
        assert email in await theirs.locator("#reset-form").inner_text()
        if scripted:
            await wait_until(theirs, "window.htmx !== undefined")
        await theirs.fill("#reset-new", NEW_PASSWORD)
        await theirs.fill("#reset-confirm", NEW_PASSWORD)
        await theirs.get_by_role("button", name="Set the password").click()
        await theirs.wait_for_url(base + "/login?reset=1")
        await theirs.get_by_role("status").filter(has_text="Your new password is set").wait_for()
        await fits(theirs)
        await sign_in_as(theirs, base, email, NEW_PASSWORD)

        # The link worked once.
        await theirs.goto(link)
        assert "expired or has been used" in await theirs.locator("#reset-form").inner_text()
    finally:
        await newcomer.close()
        await admin.close()


@pytest.mark.parametrize("scripted", [True, False], ids=["js", "no-js"])
async def test_disabling_an_author_signs_them_out_at_once(live_server, browser, scripted) -> None:
    live_server.seed(a_team)
    base = live_server.url
    admin = await browser.new_context(java_script_enabled=scripted)
    author = await browser.new_context(java_script_enabled=scripted)
    try:
        theirs = await author.new_page()
        await theirs.goto(base + "/login")
        await sign_in_as(theirs, base, AUTHOR, TEST_PASSWORD)

        page = await admin.new_page()
        await sign_in(page, base, scripted=scripted)
        await users_page(page, base, scripted=scripted)
        row_id = await page.locator("tr", has_text=AUTHOR).get_attribute("id")
        assert row_id and row_id.startswith("person-")
        row = page.locator(f"#{row_id}")
        assert "1 signed-in browser" in await row.inner_text()
        # Set on this document only: a page loaded again would not have it.
        await page.evaluate("document.documentElement.dataset.kept = 'yes'")
        await row.get_by_role("button", name="Disable").click()
        if scripted:
            await row.get_by_role("button", name="Enable").wait_for()
            assert await page.evaluate("document.documentElement.dataset.kept") == "yes"
            assert page.url == base + "/admin/users/"
            # No notice on the page (the header's search status line is no notice).
            assert await page.locator("main").get_by_role("status").count() == 0
        else:
            notice = "Ada Author is disabled and signed out everywhere."
            await page.get_by_role("status").filter(has_text=notice).wait_for()
            assert "notice=" in page.url
            assert await page.evaluate("document.documentElement.dataset.kept") is None
        assert "disabled" in await row.locator("td").nth(2).inner_text()
        assert "0 signed-in browsers" in await row.inner_text()
        assert await row.get_by_role("button", name="Disable").count() == 0
        assert await row.get_by_role("button", name="Password link").count() == 0

        await theirs.goto(base + "/admin/")
        assert theirs.url.startswith(base + "/login")
        await theirs.locator("#login-form").wait_for()
    finally:
        await author.close()
        await admin.close()


async def test_axe_finds_no_violations_on_the_users_and_reset_pages(live_server, browser) -> None:
    live_server.seed(a_team)
    base = live_server.url
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await sign_in(page, base)
        await users_page(page, base)
        found = {"list": await axe_violations(page)}

        await add_someone(page, AUTHOR, "Ada Again")
        await page.get_by_role("alert").first.wait_for()
        await wait_until(page, "document.querySelector('#new-email[aria-invalid=true]') !== null")
        assert await page.locator("#new-email").input_value() == AUTHOR
        found["refused"] = await axe_violations(page)

        await add_someone(page, "new@example.com", "Nell Newcomer")
        await page.locator("#people-link").wait_for()
        link = await page.locator("#people-link").input_value()
        found["link"] = await axe_violations(page)

        # A row swapped in place: disabled, and a row with its own one-time link.
        ada = page.locator("tr", has_text=AUTHOR)
        await ada.get_by_role("button", name="Disable").click()
        await ada.get_by_role("button", name="Enable").wait_for()
        you = page.locator("tr", has_text="(you)")
        await you.get_by_role("button", name="Password link").click()
        await you.locator("input[readonly]").wait_for()
        found["rows"] = await axe_violations(page)

        await page.goto(link)
        await page.locator("#reset-new").wait_for()
        found["reset"] = await axe_violations(page)
        await wait_until(page, "window.htmx !== undefined")
        await page.fill("#reset-new", NEW_PASSWORD)
        await page.fill("#reset-confirm", NEW_PASSWORD + " but not the same")
        await page.get_by_role("button", name="Set the password").click()
        await page.get_by_role("alert").first.wait_for()
        await wait_until(page, "document.querySelector('#reset-new[aria-invalid=true]') !== null")
        found["reset-refused"] = await axe_violations(page)

        await page.goto(base + "/reset/not-a-link")
        found["reset-expired"] = await axe_violations(page)
        assert {name: v for name, v in found.items() if v} == {}
    finally:
        await context.close()
