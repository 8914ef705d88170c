"""Comments in a real Chromium: in place with htmx, by plain form posts without it, inert XSS."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from components import posts
from components.comments import intake
from components.comments.intake import Moderation, Rules, Submission
from components.comments.stamps import issue_stamp
from components.models import PostStatus
from tests.conftest import TEST_SECRET, session_on, write_post

from .test_browser_reading import wait_until
from .test_browser_writing import a_writer, sign_in

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

PATH_OF = "document.location.pathname"


async def a_post_open_to_comments(session: AsyncSession) -> None:
    await write_post(
        session,
        title="Talk to me",
        slug="talk-to-me",
        body="Say something.",
        status=PostStatus.PUBLISHED,
        comments_enabled=True,
    )


async def open_post(page, base: str, *, scripted: bool = True) -> str:
    await page.goto(base + "/")
    await page.click("text=Talk to me")
    await page.wait_for_selector("#comment-form")
    if scripted:
        await wait_until(page, "window.htmx !== undefined")
    # The form's timestamp must be a second old, as a person's would be.
    await asyncio.sleep(1.1)
    return await page.evaluate(PATH_OF)


async def test_a_comment_appears_in_place_and_the_form_resets(live_server, page) -> None:
    live_server.seed(a_post_open_to_comments)
    path = await open_post(page, live_server.url)
    await page.fill("#comment-form-name", "Lin Reader")
    await page.fill("#comment-form-body", "What a **nice** post")
    await page.click("#comment-form button[type=submit]")
    await wait_until(page, "document.querySelector('#comments-list .comment strong') !== null")
    assert await page.locator("#comments-list .comment-author").inner_text() == "Lin Reader"
    assert await page.locator("#comment-form-body").input_value() == ""
    assert "published" in await page.locator("#comment-form .notice").inner_text()
    assert await page.evaluate(PATH_OF) == path  # no navigation happened
    # Focus is on the message that says what happened, not lost to <body>.
    await wait_until(page, "document.activeElement.matches('#comment-form .notice')")

    # An error shows beside its field, and what was typed stays.
    await asyncio.sleep(1.1)
    await page.fill("#comment-form-name", "Kept")
    await page.fill("#comment-form-website", "javascript:alert(1)")
    await page.fill("#comment-form-body", "Second words")
    await page.click("#comment-form button[type=submit]")
    await wait_until(page, "document.querySelector('#website-error') !== null")
    await wait_until(page, "document.activeElement.id === 'comment-form-website'")
    assert await page.locator("#comment-form-name").input_value() == "Kept"
    assert await page.locator("#comment-form-body").input_value() == "Second words"
    assert await page.locator("#comments-list .comment").count() == 1
    assert all("422" in error for error in page.console_errors)


async def test_a_reply_opens_under_its_comment(live_server, page) -> None:
    live_server.seed(a_post_open_to_comments)
    await open_post(page, live_server.url)
    await page.fill("#comment-form-name", "First")
    await page.fill("#comment-form-body", "Top comment")
    await page.click("#comment-form button[type=submit]")
    await wait_until(page, "document.querySelector('#comments-list .reply-link') !== null")
    await page.click("#comments-list .reply-link")
    await page.wait_for_selector("[id^=reply-form-] textarea")
    await asyncio.sleep(1.1)
    await page.fill("[id^=reply-form-] input[name=name]", "Second")
    await page.fill("[id^=reply-form-] textarea", "An answer")
    await page.click("[id^=reply-form-] button[type=submit]")
    await wait_until(page, "document.querySelector('.replies .comment') !== null")
    assert "An answer" in await page.locator(".replies .comment").inner_text()
    assert "published" in await page.locator(".reply-slot .notice").inner_text()
    await wait_until(page, "document.activeElement.matches('.reply-slot .notice')")
    assert page.console_errors == []


async def test_commenting_works_without_javascript(live_server, browser) -> None:
    live_server.seed(a_post_open_to_comments)
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    try:
        await open_post(page, live_server.url, scripted=False)
        await page.fill("#comment-form-name", "No Script")
        await page.fill("#comment-form-body", "Plain forms work too")
        await page.click("#comment-form button[type=submit]")
        await page.wait_for_url("**/talk-to-me#comment-*")
        assert "Plain forms work too" in await page.locator("#comments-list").inner_text()

        # Reply without JavaScript: the link turns the post's own form into the reply form.
        await page.click("#comments-list .reply-link")
        await page.wait_for_url("**reply_to=*")
        assert "Reply to No Script" in await page.locator("#comment-form").inner_text()
        await asyncio.sleep(1.1)
        await page.fill("#comment-form-name", "Answerer")
        await page.fill("#comment-form-body", "Replying plainly")
        await page.click("#comment-form button[type=submit]")
        await page.wait_for_url("**/talk-to-me#comment-*")
        assert "Replying plainly" in await page.locator(".replies").inner_text()
    finally:
        await context.close()


XSS = {
    "name": "<script>window.pwned=1</script><img src=x onerror=alert(1)>",
    "website": "https://x.example/page",
    "body": "<script>alert(2)</script> <img src=x onerror=alert(3)> "
    "[click](javascript:alert(4)) <svg onload=alert(5)>",
}


async def test_script_in_comments_never_runs(live_server, page) -> None:
    live_server.seed(a_post_open_to_comments)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    await open_post(page, live_server.url)
    await page.fill("#comment-form-name", XSS["name"])
    await page.fill("#comment-form-website", XSS["website"])
    await page.fill("#comment-form-body", XSS["body"])
    await page.click("#comment-form button[type=submit]")
    await wait_until(page, "document.querySelector('#comments-list .comment') !== null")
    # Once swapped in by htmx, and once more as the page loads whole; each time after every
    # image has loaded or failed, when an `onerror` would have run.
    for _ in range(2):
        await wait_until(
            page,
            "document.readyState === 'complete' && [...document.images].every(i => i.complete)",
        )
        found = await page.evaluate(
            "[document.querySelectorAll('#comments script, #comments img, #comments svg').length,"
            " [...document.querySelectorAll('#comments a')].filter("
            "a => a.href.startsWith('javascript')).length, window.pwned === 1]"
        )
        assert found == [0, 0, False]
        assert XSS["name"] in await page.locator("#comments-list .comment-author").inner_text()
        await page.reload()
        await page.wait_for_selector("#comments-list .comment")
    assert dialogs == []


async def someone_else_comments(
    database_url: str, slug: str, body: str, moderation: Moderation = Moderation.NONE
) -> int:
    """A comment sent from another reader's browser, straight into the server's database."""
    async with session_on(database_url) as session:
        post = await posts.find_visible(session, slug)
        assert post is not None
        form = Submission(
            name="Another Reader",
            body=body,
            stamp=issue_stamp(TEST_SECRET, time.time() - 60),
        )
        comment = await intake.submit(
            session,
            post.post,
            form,
            rules=Rules(moderation=moderation, min_seconds=0),
            secret=TEST_SECRET,
            ip="203.0.113.8",
        )
        await session.commit()
        return comment.id


async def test_new_comments_appear_live_and_only_once(live_server, page) -> None:
    live_server.seed(a_post_open_to_comments)
    await open_post(page, live_server.url)
    await wait_until(page, "document.querySelector('.comments-live')?._htmx?.sse != null")
    theirs = await someone_else_comments(live_server.database_url, "talk-to-me", "Hi from afar")
    await wait_until(page, f"document.querySelector('#comment-{theirs}') !== null")
    assert "Hi from afar" in await page.locator(f"#comment-{theirs}").inner_text()
    assert await page.locator("#comments-title").inner_text() == "1 comment"

    # The reader's own comment comes back twice (from the form and from the stream),
    # and is shown once.
    await page.evaluate(RECORD_STREAMED)
    await page.fill("#comment-form-name", "Lin Reader")
    await page.fill("#comment-form-body", "And hello from here")
    await page.click("#comment-form button[type=submit]")
    # Both copies handled, in whichever order they came: the form's answer, and the
    # stream's message (its event comes once htmx has swapped it in).
    await wait_until(
        page, "document.querySelector('#comment-form .notice')?.innerText.includes('published')"
    )
    await wait_until(page, "window.streamed.some(data => data.includes('And hello from here'))")
    await wait_until(page, "document.querySelector('#comments-title').textContent === '2 comments'")
    ids = await page.evaluate(
        "Array.from(document.querySelectorAll('#comments-list > li')).map(li => li.id)"
    )
    assert len(ids) == len(set(ids)) == 2
    assert page.console_errors == []


RECORD_STREAMED = """
window.streamed = [];
document.addEventListener('htmx_sse_after_message', (event) => {
  window.streamed.push(event.detail.message.data || '');
});
"""


async def a_writer_and_a_post_open_to_comments(session: AsyncSession) -> None:
    await a_writer(session)
    await a_post_open_to_comments(session)


async def test_the_moderation_queue_fills_live(live_server, page) -> None:
    live_server.seed(a_writer_and_a_post_open_to_comments)
    await sign_in(page, live_server.url)
    await page.goto(live_server.url + "/admin/comments/")
    await wait_until(page, "document.querySelector('.queue-live')?._htmx?.sse != null")
    assert await page.locator("#queue-empty").is_visible()
    assert not await page.locator("#queue-rows").is_visible()  # an empty table stays hidden

    held = await someone_else_comments(
        live_server.database_url, "talk-to-me", "Please let me in", Moderation.ALL
    )
    await wait_until(page, f"document.querySelector('#comment-row-{held}') !== null")
    assert "Please let me in" in await page.locator(f"#comment-row-{held}").inner_text()
    assert await page.locator("#queue-empty").count() == 0
    assert await page.locator("#pending-count").text_content() == "1 waiting"

    # Approved in place: the row says so, and the count in the navigation goes.
    await page.locator(f"#comment-row-{held} button", has_text="Approve").click()
    await wait_until(page, "document.querySelector('#pending-count').hidden")
    assert "approved" in await page.locator(f"#comment-row-{held} .state").inner_text()
    assert page.console_errors == []
