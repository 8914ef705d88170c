"""The fediverse's admin pages in a real Chromium: following an account on a stand-in
for Mastodon (tests/fediverse.py) from /admin/following, with and without JavaScript, a
bad address refused on the form, and both pages (Following, Followers) fitting phone
and desktop widths and clean for axe in both colour schemes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from components.activitypub import actors
from components.models import Follower, FollowerState, RemoteActor

from .fediverse import Fediverse, fediverse
from .test_browser_reading import SCRIPTED_AND_WIDTH, axe_violations, fits
from .test_browser_writing import a_writer, sign_in

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture
def remote() -> Iterator[Fediverse]:
    with fediverse() as server:
        yield server


async def two_followers(session: AsyncSession) -> list[RemoteActor]:
    """Two followers of the blog: one accepted, one waiting for approval, with a long
    handle. Their accounts, in that order."""
    blog = await actors.blog(session)
    accounts = []
    for name, state in (
        ("Carol", FollowerState.ACCEPTED),
        ("Someone-with-a-rather-long-name", FollowerState.PENDING),
    ):
        account = RemoteActor(
            uri=f"https://social.example/users/{name.lower()}",
            inbox=f"https://social.example/users/{name.lower()}/inbox",
            handle=f"@{name.lower()}@social.example",
            name=name,
            url=f"https://social.example/@{name.lower()}",
        )
        session.add(account)
        await session.flush()
        session.add(
            Follower(actor_id=blog.row.id, remote_id=account.id, follow_id=name, state=state)
        )
        accounts.append(account)
    return accounts


async def followed_and_waiting(session: AsyncSession) -> None:
    """The admin `sign_in` signs in as, and two followers of the blog."""
    await a_writer(session)
    await two_followers(session)


@SCRIPTED_AND_WIDTH
async def test_an_admin_follows_an_account_and_a_bad_address_is_refused(
    live_server, browser, remote: Fediverse, scripted: bool, width: int
) -> None:
    live_server.seed(followed_and_waiting)
    remote.account("bob", display="Bob Builder")
    base = live_server.url
    options = {"viewport": {"width": width, "height": 844}, "java_script_enabled": scripted}
    context = await browser.new_context(**options)
    try:
        page = await context.new_page()
        await sign_in(page, base, scripted=scripted)
        await page.goto(base + "/admin/following/")
        await page.get_by_text("No one followed yet.").wait_for()
        await fits(page)

        await page.fill("#follow-address", "not an address")
        await page.get_by_role("button", name="Follow", exact=True).click()
        await page.get_by_role("alert").filter(has_text="is not an account's address").wait_for()
        assert await page.get_attribute("#follow-address", "aria-invalid") == "true"
        assert await page.locator("#follow-address").input_value() == "not an address"

        await page.fill("#follow-address", f"@bob@127.0.0.1:{remote.port}")
        await page.get_by_role("button", name="Follow", exact=True).click()
        await page.get_by_role("status").filter(has_text="is asked to accept @blog").wait_for()
        row = page.locator("tr", has_text="Bob Builder")
        assert "Asked" in await row.inner_text()
        assert await row.get_by_role("button", name="Unfollow").count() == 1
        await fits(page)

        # Someone is still waiting on the Followers page, linked from here.
        await page.get_by_role("link", name="Who follows you").click()
        waiting = page.locator("tr", has_text="Someone-with-a-rather-long-name")
        await waiting.get_by_role("button", name="Approve").wait_for()
        await fits(page)
    finally:
        await context.close()


async def test_axe_finds_no_violations_on_the_fediverse_pages(
    live_server, browser, remote: Fediverse
) -> None:
    live_server.seed(followed_and_waiting)
    remote.account("bob", display="Bob Builder")
    base = live_server.url
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await sign_in(page, base)
        await page.goto(base + "/admin/following/")
        await page.fill("#follow-address", f"@nobody@127.0.0.1:{remote.port}")
        await page.get_by_role("button", name="Follow", exact=True).click()
        await page.get_by_role("alert").filter(has_text="no such account").wait_for()
        found = {"following, refused": await axe_violations(page)}
        await page.fill("#follow-address", f"@bob@127.0.0.1:{remote.port}")
        await page.get_by_role("button", name="Follow", exact=True).click()
        await page.locator("tr", has_text="Bob Builder").wait_for()
        found["following"] = await axe_violations(page)
        await page.goto(base + "/admin/followers/")
        found["followers"] = await axe_violations(page)
        assert found == {name: [] for name in found}
    finally:
        await context.close()
