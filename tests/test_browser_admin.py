"""Every page behind sign-in in a real Chromium, filled as a blog in use fills it: a post
whose preview holds a code line far wider than any screen, comments waiting in the queue,
people, subscribers, followers, images. At a phone's width (390x844) and a desktop's
(1280x800), with JavaScript on and off, in the light scheme and the dark: the page never
scrolls sideways, and axe-core finds nothing with the strict CSP left on. A screenshot of
each page, width and scheme is kept (in the test's folder, or in QUIRE_SCREENSHOTS)."""

from __future__ import annotations

import io
import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from components import accounts
from components.activitypub import actors
from components.media import library
from components.models import (
    Comment,
    CommentKind,
    CommentStatus,
    Following,
    FollowingState,
    PostStatus,
    RevisionKind,
    Role,
    Subscriber,
    SubscriberState,
    utcnow,
)
from components.saving import Content, write
from components.text import slugify

from .conftest import TEST_PASSWORD, write_post
from .test_browser_federation import two_followers
from .test_browser_reading import SCRIPTED_AND_WIDTH, axe_now, screenshots, wait_until
from .test_browser_writing import EMAIL, a_writer, sign_in

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

LONG_LINE = (
    "    response = await client.get(f'{base}/api/posts?tag={tag}&before={cursor}', "
    "headers={'Accept': 'application/json', 'X-Request-Id': request_id}, timeout=30)"
)
BODY = (
    "A post that shows what a writer's preview must hold without widening the page.\n\n"
    "## A long line of code\n\n"
    f'```python title="client.py" linenums="1"\nasync def fetch(client, base, tag, cursor):\n'
    f"{LONG_LINE}\n    return response.json()\n```\n\n"
    "An address with no space to break at: "
    "https://example.com/a/rather/long/path/that/never/ends/on/a/phone/screen/at/all.\n\n"
    "| column | another column | a third one |\n|---|---|---|\n| 1 | 2 | 3 |\n\n"
    "> [!NOTE]\n> A callout, as readers see it.\n\n"
    "Inline `code_that_is_quite_long_and_has_no_spaces_in_it_at_all()` too.\n"
)
AUTHOR = "ada.author.with.a.long.address@example.com"


async def an_admin_desk(session: AsyncSession) -> None:
    """The admin `sign_in` signs in as, with everything the admin pages list."""
    await a_writer(session)
    writer = await accounts.by_email(session, EMAIL)
    author = await accounts.create_user(
        session, email=AUTHOR, name="Ada Author", password=TEST_PASSWORD, role=Role.AUTHOR
    )
    gone = await accounts.create_user(
        session, email="gone@example.com", name="Gus Gone", password=TEST_PASSWORD
    )
    gone.disabled_at = utcnow()
    now = utcnow()
    post = await write_post(
        session,
        title="Fetching pages of posts from the API, with a long title to wrap",
        body=BODY,
        tags=["Python", "API"],
        status=PostStatus.PUBLISHED,
        published_at=now - timedelta(days=2),
        comments_enabled=True,
        author=writer,
    )
    # Two revisions, the later one the text as it is now: the revision page has a diff.
    content = Content(
        title=post.title,
        slug=post.slug,
        body=BODY.replace("without widening", "without ever widening"),
        tags=["Python", "API"],
        status=PostStatus.PUBLISHED,
        published_at=post.published_at,
        comments_enabled=True,
    )
    await write(session, post, content, author=writer, revision=RevisionKind.SAVE)
    await write(session, post, replace(content, body=BODY), author=writer)
    await write_post(session, title="A draft about nothing yet", body="Soon.", author=author)
    await write_post(
        session,
        title="Scheduled for next week",
        body="Later.",
        status=PostStatus.SCHEDULED,
        published_at=now + timedelta(days=7),
        author=writer,
    )
    older = await write_post(
        session,
        title="An older post",
        body="Old words.",
        status=PostStatus.PUBLISHED,
        published_at=now - timedelta(days=30),
        author=writer,
    )
    await session.flush()
    comments = [
        (
            "Pat Pending",
            "https://pat.example/a/very/long/home/page/address/on/the/web",
            (
                "A comment long enough to wrap over several lines in the queue, so that the "
                "table's first column has to hold a real paragraph: " + "words " * 40
            ),
        ),
        ("Quentin Question", "", "Short one?"),
        ("Unbroken", "", "https://example.org/" + "x" * 120),
    ]
    for name, url, text in comments:
        session.add(
            Comment(
                post_id=post.id,
                author_name=name,
                author_url=url,
                body=text,
                body_html=f"<p>{text}</p>",
                status=CommentStatus.PENDING,
            )
        )
    session.add(
        Comment(
            post_id=older.id,
            author_name="Liker",
            body="",
            body_html="",
            kind=CommentKind.LIKE,
            source_url="https://someone.example/notes/2026/11/a-like-of-an-older-post",
            status=CommentStatus.PENDING,
        )
    )
    session.add(
        Comment(
            post_id=post.id,
            author_name="Approved Reader",
            body="Thanks!",
            body_html="<p>Thanks!</p>",
            status=CommentStatus.APPROVED,
        )
    )
    session.add(
        Comment(
            post_id=post.id,
            author_name="Cheap Pills",
            body="Buy now",
            body_html="<p>Buy now</p>",
            status=CommentStatus.SPAM,
        )
    )
    for email, state in (
        ("reader@example.com", SubscriberState.CONFIRMED),
        (
            "someone.with.a.really.long.address.indeed@subdomain.example.org",
            SubscriberState.PENDING,
        ),
        ("left@example.com", SubscriberState.UNSUBSCRIBED),
    ):
        session.add(Subscriber(email=email, state=state))
    blog = await actors.blog(session)
    for account in await two_followers(session):
        session.add(
            Following(
                actor_id=blog.row.id,
                remote_id=account.id,
                follow_id=f"https://blog.example/follows/{slugify(account.name)}",
                state=FollowingState.ACCEPTED if account.name == "Carol" else FollowingState.ASKED,
            )
        )
    with tempfile.TemporaryDirectory() as folder:
        await library.store(
            session,
            a_png(),
            filename="a-sunset-over-the-harbour-with-a-long-file-name.png",
            owner=writer,
            max_bytes=10_000_000,
            folder=Path(folder),
            alt_text="An orange sunset",
        )


def a_png() -> bytes:
    from PIL import Image

    data = io.BytesIO()
    Image.new("RGB", (640, 400), (200, 120, 40)).save(data, "PNG")
    return data.getvalue()


# --- looking at the pages -------------------------------------------------------------

VIEWPORTS = {390: {"width": 390, "height": 844}, 1280: {"width": 1280, "height": 800}}
SCHEMES = ("light", "dark")
SCROLL_WIDTH = "document.scrollingElement.scrollWidth"
# With script on, a page is ready for looking at once quire.js has marked it and htmx is
# loaded (the no-script Preview button goes, the live queue connects).
READY = "document.documentElement.classList.contains('js') && window.htmx !== undefined"


async def open_page(page, url: str, *, scripted: bool) -> None:
    await page.goto(url)
    if scripted:
        await wait_until(page, READY)


async def admin_pages(page, base: str, *, scripted: bool) -> dict[str, str]:
    """Every page behind sign-in, by name, with the seeded post, revision and comment in
    their addresses (read from the links that lead to them)."""
    await open_page(page, base + "/admin/", scripted=scripted)
    edit = (
        await page.locator("#admin-posts tr", has_text="Fetching pages")
        .get_by_role("link", name="Fetching pages")
        .get_attribute("href")
    )
    delete = (
        await page.locator("#admin-posts tr", has_text="Fetching pages")
        .get_by_role("link", name="Delete")
        .get_attribute("href")
    )
    await open_page(page, base + edit, scripted=scripted)
    # The older of the two revisions: its diff with the text as it is has lines.
    revision = await page.locator("#revisions li").last.locator("a").first.get_attribute("href")
    await open_page(page, base + "/admin/comments/", scripted=scripted)
    comment_delete = (
        await page.locator("#queue-rows tr", has_text="Pat Pending")
        .get_by_role("link", name="Delete")
        .get_attribute("href")
    )
    assert edit and delete and revision and comment_delete
    return {
        "posts": "/admin/",
        "new-post": "/admin/posts/new",
        "new-page": "/admin/posts/new?kind=page",
        "editor": edit,
        "revision": revision,
        "post-delete": delete,
        "queue": "/admin/comments/",
        "queue-approved": "/admin/comments/?status=approved",
        "queue-spam": "/admin/comments/?status=spam",
        "queue-all": "/admin/comments/?status=all",
        "comment-delete": comment_delete,
        "media": "/admin/media",
        "users": "/admin/users/",
        "settings": "/admin/settings/",
        "followers": "/admin/followers/",
        "following": "/admin/following/",
        "subscribers": "/admin/subscribers/",
        "account": "/account",
        "profile": "/account/profile/",
    }


@SCRIPTED_AND_WIDTH
async def test_every_admin_page_fits_both_widths_and_is_clean_for_axe_in_both_schemes(
    live_server, browser, backend, scripted, width, tmp_path
) -> None:
    live_server.seed(an_admin_desk)
    base = live_server.url
    folder = screenshots(tmp_path)
    way = "js" if scripted else "no-js"
    context = await browser.new_context(viewport=VIEWPORTS[width], java_script_enabled=scripted)
    try:
        page = await context.new_page()
        await sign_in(page, base, scripted=scripted)
        too_wide, found = {}, {}
        for name, path in (await admin_pages(page, base, scripted=scripted)).items():
            await open_page(page, base + path, scripted=scripted)
            # The flow's own width first, then the other one, on the same page.
            for shown in sorted(VIEWPORTS, key=lambda each: each != width):
                await page.set_viewport_size(VIEWPORTS[shown])
                for scheme in SCHEMES:
                    await page.emulate_media(color_scheme=scheme)
                    query = f"matchMedia('(prefers-color-scheme: {scheme})').matches"
                    assert await page.evaluate(query), f"{name} is not shown {scheme}"
                    wide = await page.evaluate(SCROLL_WIDTH)
                    if wide > shown:
                        too_wide[name, shown, scheme] = wide
                    await page.screenshot(
                        path=folder / f"{name}-{shown}-{scheme}-{way}-{backend}.png",
                        full_page=True,
                    )
                    if violations := await axe_now(page):
                        found[name, shown, scheme] = violations
        assert too_wide == {}
        assert found == {}
    finally:
        await context.close()


# Where elements are drawn, read in the page: {selector: [left, top, right, bottom, width,
# height]} for the first element each selector finds.
BOXES = """(selectors) => Object.fromEntries(selectors.map((selector) => {
  const box = document.querySelector(selector).getBoundingClientRect();
  return [selector, [box.left, box.top, box.right, box.bottom, box.width, box.height]];
}))"""
CODE = "#preview figure.code pre"
# The preview's code block scrolls sideways inside itself: it is wider inside than out.
CODE_SCROLLS = (
    f"(() => {{ const pre = document.querySelector({CODE!r});"
    " return pre.scrollWidth > pre.clientWidth + 100; })()"
)


async def preview_is_inside(page, width: int) -> None:
    """At `width`: no sideways scroll, the code block inside the preview and scrolling
    there, and the text and its preview side by side on a desktop, stacked on a phone."""
    await page.set_viewport_size(VIEWPORTS[width])
    assert await page.evaluate(SCROLL_WIDTH) <= width, width
    boxes = await page.evaluate(BOXES, ["#editor-body", "#preview", CODE])
    text, preview, code = boxes["#editor-body"], boxes["#preview"], boxes[CODE]
    assert preview[2] <= width and code[2] <= preview[2], (width, preview, code)
    assert await page.evaluate(CODE_SCROLLS), width
    if width < 600:
        assert preview[1] >= text[3], "on a phone the preview comes under the text"
    else:
        assert preview[0] >= text[2], "on a desktop the preview is beside the text"


@SCRIPTED_AND_WIDTH
async def test_the_editor_preview_keeps_long_code_inside_its_pane(
    live_server, browser, scripted, width
) -> None:
    live_server.seed(an_admin_desk)
    base = live_server.url
    context = await browser.new_context(viewport=VIEWPORTS[width], java_script_enabled=scripted)
    try:
        page = await context.new_page()
        await sign_in(page, base, scripted=scripted)
        await page.get_by_role("link", name="Fetching pages").click()
        await page.locator(CODE).wait_for()
        if scripted:
            await wait_until(page, READY)
        for shown in VIEWPORTS:
            await preview_is_inside(page, shown)

        # A preview made anew (typed with script, the Preview button without): as wide.
        body = page.locator("#editor-body")
        await body.fill("```text\n" + "an-unbroken-line-" * 30 + "\n```\n")
        if scripted:
            await body.press("End")
            await body.press_sequentially("\nMore.")
        else:
            await page.get_by_role("button", name="Preview", exact=True).click()
        await page.locator(CODE, has_text="an-unbroken-line").wait_for()
        for shown in VIEWPORTS:
            await preview_is_inside(page, shown)
    finally:
        await context.close()


# Computed styles of the first element each selector finds, the ones that make one look.
LOOKS = """(selectors) => Object.fromEntries(selectors.map((selector) => {
  const element = document.querySelector(selector);
  const style = getComputedStyle(element);
  const box = element.getBoundingClientRect();
  return [selector, {
    height: Math.round(box.height), top: Math.round(box.top),
    font: style.fontSize + " " + style.fontWeight, radius: style.borderRadius,
    border: style.borderTopWidth + " " + style.borderTopStyle, padding: style.paddingTop,
    background: style.backgroundColor,
  }];
}))"""
FILTER = ["#admin-status", "#admin-q", ".filter-form button"]
PUBLISHED_ROW = "#admin-posts tr:has(.state-published)"
ROW_ACTIONS = [f"{PUBLISHED_ROW} a.button", f"{PUBLISHED_ROW} button", f"{PUBLISHED_ROW} a.danger"]


@SCRIPTED_AND_WIDTH
async def test_admin_controls_line_up_and_tables_stack_on_a_phone(
    live_server, browser, scripted, width
) -> None:
    live_server.seed(an_admin_desk)
    base = live_server.url
    context = await browser.new_context(viewport=VIEWPORTS[width], java_script_enabled=scripted)
    try:
        page = await context.new_page()
        await sign_in(page, base, scripted=scripted)
        for shown in VIEWPORTS:
            await page.set_viewport_size(VIEWPORTS[shown])
            # The filter bar: select, text box and button of one height, on one line
            # where there is room.
            looks = await page.evaluate(LOOKS, FILTER)
            assert len({looks[each]["height"] for each in FILTER}) == 1, (shown, looks)
            if shown == 1280:
                assert len({looks[each]["top"] for each in FILTER}) == 1, looks
            # A row's actions, links (View, Delete) and buttons (Unpublish), look alike
            # and stand on one line; only Delete's colour is its own.
            looks = await page.evaluate(LOOKS, ROW_ACTIONS)
            for key in ("height", "top", "font", "radius", "border", "padding", "background"):
                assert len({looks[each][key] for each in ROW_ACTIONS}) == 1, (shown, key, looks)
            # A table on a desktop; labelled stacked rows on a phone.
            display = await page.evaluate(
                "getComputedStyle(document.querySelector('#admin-posts table')).display"
            )
            label = await page.evaluate(
                f"getComputedStyle(document.querySelector('{PUBLISHED_ROW} td[data-label]'),"
                " '::before').content"
            )
            if shown == 1280:
                assert (display, label) == ("table", "none")
            else:
                assert (display, label) == ("block", '"State"')

        # A waiting comment is read across the phone's width, not a word a line.
        await open_page(page, base + "/admin/comments/", scripted=scripted)
        await page.set_viewport_size(VIEWPORTS[390])
        row = "#queue-rows tr:has(.queue-comment)"
        boxes = await page.evaluate(BOXES, [row, f"{row} .queue-comment .comment-body"])
        assert boxes[f"{row} .queue-comment .comment-body"][4] >= 0.95 * boxes[row][4], boxes
        await page.set_viewport_size(VIEWPORTS[width])
    finally:
        await context.close()
