"""Authors in a real Chromium: a profile saved with and without JavaScript, fitting phone and
desktop widths, and found by a reader through a byline; bad input refused with nothing
changed; and the author page and the profile form clean for axe in both colour schemes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from components import accounts
from components.models import PostStatus, Role, utcnow

from .conftest import TEST_PASSWORD, write_post
from .test_browser_people import sign_in_as
from .test_browser_reading import SCRIPTED_AND_WIDTH, axe_violations, cards, fits, wait_until
from .test_browser_writing import EMAIL, a_png, a_writer

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

ADA = "ada@example.com"
ADAS = ["Ada on engines", "Ada on looms", "Ada on numbers", "Ada on poetry"]
OTHERS = ["An unsigned note", "Wren on birds", "Wren on gardens"]
BIO = "Wrote the first program.\n\nLiked engines more than people."
LINKS = ["https://mastodon.social/@ada", "https://ada.example/notes"]
AVATAR_SHOWN = "document.querySelector('.author-head img.avatar')?.naturalWidth > 0"


async def two_authors(session: AsyncSession) -> None:
    """Wren (the admin `sign_in` uses, so the default author) and Ada (an author), with
    posts by each and one by no one, newest first: Ada, no one, Ada, then the rest."""
    await a_writer(session)
    wren = await accounts.by_email(session, EMAIL)
    ada = await accounts.create_user(
        session, email=ADA, name="Ada Author", password=TEST_PASSWORD, role=Role.AUTHOR
    )
    by = [ada, None, ada, wren, ada, wren, ada]
    titles = [ADAS[0], OTHERS[0], ADAS[1], OTHERS[1], ADAS[2], OTHERS[2], ADAS[3]]
    now = utcnow()
    for days, (title, author) in enumerate(zip(titles, by, strict=True), start=1):
        await write_post(
            session,
            title=title,
            body=f"The body of {title}.",
            status=PostStatus.PUBLISHED,
            published_at=now - timedelta(days=days),
            author=author,
        )


async def open_profile(page, base: str, *, scripted: bool = True) -> None:
    """Sign in as Ada, the author, and open her profile form."""
    await page.goto(base + "/login")
    await sign_in_as(page, base, ADA, TEST_PASSWORD)
    await page.goto(base + "/account/profile/")
    if scripted:
        await wait_until(page, "window.htmx !== undefined")


async def save(page, avatar: str | None = None, **fields: str) -> int:
    """Fill in the profile form and send it: the status the server answered the post with
    (a saved profile: 303, or 200 with HX-Location for htmx, whose fetch follows no 3xx)."""
    for field, value in fields.items():
        await page.fill(f"#profile-{field}", value)
    if avatar:
        await page.set_input_files("#profile-avatar", avatar)
    async with page.expect_response(lambda r: r.request.method == "POST") as answer:
        await page.get_by_role("button", name="Save profile").click()
    return (await answer.value).status


async def refused(page) -> None:
    await page.get_by_role("alert").filter(has_text="Nothing was saved").wait_for()


@SCRIPTED_AND_WIDTH
async def test_a_saved_profile_is_what_the_byline_leads_readers_to(
    live_server, browser, scripted, width, tmp_path
) -> None:
    live_server.seed(two_authors)
    base = live_server.url
    options = {"viewport": {"width": width, "height": 844}, "java_script_enabled": scripted}
    writer = await browser.new_context(**options)
    reader = await browser.new_context(**options)
    try:
        page = await writer.new_page()
        await open_profile(page, base, scripted=scripted)
        await fits(page)
        status = await save(
            page,
            a_png(tmp_path),
            name="Ada Lovelace",
            slug="ada-lovelace",
            bio=BIO,
            links="\n".join(LINKS),
        )
        assert status == (200 if scripted else 303)
        await page.get_by_role("status").filter(has_text="Profile saved").wait_for()
        await page.wait_for_url(base + "/account/profile/?saved=1")
        assert await page.locator("#profile-name").input_value() == "Ada Lovelace"
        assert await page.locator("#profile-links").input_value() == "\n".join(LINKS)
        await page.locator("img.avatar").wait_for()
        await fits(page)

        theirs = await reader.new_page()
        await theirs.goto(base + "/")
        bylines = await theirs.locator("article.card .byline a[rel=author]").all_inner_texts()
        assert bylines[:3] == ["Ada Lovelace", "Wren Writer", "Ada Lovelace"], "no author: Wren"
        await theirs.get_by_role("link", name=ADAS[0]).click()
        await theirs.wait_for_url(re.compile(r"/ada-on-engines$"))
        byline = theirs.locator(".byline a[rel=author]")
        assert await byline.inner_text() == "Ada Lovelace"
        await byline.click()
        await theirs.wait_for_url(base + "/authors/ada-lovelace")
        assert await theirs.locator("main h1").inner_text() == "Ada Lovelace"
        assert await theirs.locator(".author-bio").all_inner_texts() == BIO.split("\n\n")
        links = await theirs.locator("ul.author-links a[rel=me]").all()
        assert [await link.get_attribute("href") for link in links] == LINKS
        await wait_until(theirs, AVATAR_SHOWN)
        feed = theirs.get_by_role("link", name=re.compile(r"^Atom feed of Ada Lovelace"))
        assert await feed.get_attribute("href") == "/authors/ada-lovelace/feed.xml"
        atom = await (await theirs.request.get(base + "/authors/ada-lovelace/feed.xml")).text()
        assert ADAS[0] in atom and not any(title in atom for title in OTHERS)
        await fits(theirs)

        # Her posts only, three a page, like the home page.
        if scripted:
            await theirs.mouse.wheel(0, 20_000)
            await wait_until(theirs, "document.querySelectorAll('article.card').length === 4")
            assert await cards(theirs) == ADAS
        else:
            assert await cards(theirs) == ADAS[:3]
            await theirs.get_by_role("link", name="Older posts").click()
            await theirs.wait_for_url(re.compile(r"/authors/ada-lovelace\?before="))
            assert await cards(theirs) == ADAS[3:]
        for title in OTHERS:
            assert await theirs.get_by_text(title).count() == 0
        await fits(theirs)
    finally:
        await reader.close()
        await writer.close()


@pytest.mark.parametrize("scripted", [True, False], ids=["js", "no-js"])
async def test_a_refused_profile_keeps_what_was_stored(
    live_server, browser, scripted, tmp_path
) -> None:
    live_server.seed(two_authors)
    base = live_server.url
    context = await browser.new_context(java_script_enabled=scripted)
    try:
        page = await context.new_page()
        await open_profile(page, base, scripted=scripted)
        links = "https://fine.example\njavascript:alert(1)"
        assert await save(page, name="Mallory", links=links) == 422
        await refused(page)
        assert "Line 2" in await page.locator("#links-error").inner_text()
        assert await page.locator("#profile-links").get_attribute("aria-invalid") == "true"
        assert await page.locator("#profile-name").input_value() == "Mallory", "kept to fix"

        await page.goto(base + "/account/profile/")
        if scripted:
            await wait_until(page, "window.htmx !== undefined")
        assert await page.locator("#profile-name").input_value() == "Ada Author"
        not_an_image = tmp_path / "x.png"
        not_an_image.write_text("Not a picture at all.")
        assert await save(page, str(not_an_image), name="Mallory") == 422
        await refused(page)
        assert "not an image" in await page.locator("#avatar-error").inner_text()
        assert await page.locator("#profile-avatar").get_attribute("aria-invalid") == "true"

        # An address someone else has: refused, and the good avatar sent with it not kept.
        await page.goto(base + "/account/profile/")
        if scripted:
            await wait_until(page, "window.htmx !== undefined")
        assert await save(page, a_png(tmp_path), name="Mallory", slug="wren-writer") == 422
        await refused(page)
        assert "belongs to someone else" in await page.locator("#slug-error").inner_text()

        await page.goto(base + "/account/profile/")
        assert await page.locator("#profile-name").input_value() == "Ada Author"
        assert await page.locator("#profile-slug").input_value() == "ada-author"
        assert await page.locator("img.avatar").count() == 0
        await page.goto(base + "/authors/ada-author")
        assert await page.locator("main h1").inner_text() == "Ada Author"
        assert await page.locator("img.avatar").count() == 0
        assert await page.locator("ul.author-links").count() == 0
    finally:
        await context.close()


async def test_axe_finds_no_violations_on_the_author_and_profile_pages(
    live_server, browser, tmp_path
) -> None:
    live_server.seed(two_authors)
    base = live_server.url
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await open_profile(page, base)
        found = {"form": await axe_violations(page)}
        assert await save(page, a_png(tmp_path), bio=BIO, links="\n".join(LINKS)) == 200
        await page.get_by_role("status").filter(has_text="Profile saved").wait_for()
        await page.locator("img.avatar").wait_for()
        found["saved"] = await axe_violations(page)

        assert await save(page, links="javascript:alert(1)") == 422
        await refused(page)
        await wait_until(
            page, "document.querySelector('#profile-links[aria-invalid=true]') !== null"
        )
        found["errors"] = await axe_violations(page)

        await page.goto(base + "/authors/ada-author")
        await wait_until(page, AVATAR_SHOWN)
        assert await page.locator("ul.author-links a[rel=me]").count() == 2
        found["author"] = await axe_violations(page)
        assert {name: v for name, v in found.items() if v} == {}
    finally:
        await context.close()
