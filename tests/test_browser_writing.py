"""Writing in a real Chromium: live preview, autosave, conflicts, and every action without JS."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from components import accounts
from components.models import Comment, CommentStatus, PostStatus, Role

from .conftest import DEADLINE_SECONDS, TEST_PASSWORD, write_post
from .test_browser_reading import wait_until

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

EMAIL = "writer@example.com"
SAVED = "document.querySelector('#editor-status').innerText.includes('Saved')"


async def a_writer(session: AsyncSession) -> None:
    await accounts.create_user(
        session, email=EMAIL, name="Wren Writer", password=TEST_PASSWORD, role=Role.ADMIN
    )


async def a_writer_and_a_post(session: AsyncSession) -> None:
    await a_writer(session)
    user = await accounts.by_email(session, EMAIL)
    await write_post(
        session,
        title="Shared draft",
        slug="shared-draft",
        body="The first text.",
        author=user,
    )


async def sign_in(page, base: str, *, scripted: bool = True) -> None:
    await page.goto(base + "/login")
    await page.fill("#login-email", EMAIL)
    await page.fill("#login-password", TEST_PASSWORD)
    await page.click("#login-form button[type=submit]")
    await page.wait_for_url(base + "/admin/")
    if scripted:
        await wait_until(page, "window.htmx !== undefined")


async def test_typing_updates_the_preview(live_server, page) -> None:
    live_server.seed(a_writer)
    await sign_in(page, live_server.url)
    await page.goto(live_server.url + "/admin/posts/new")
    await wait_until(page, "window.htmx !== undefined")
    await page.locator("#editor-body").press_sequentially("# Big idea\n\nSome **bold** words")
    await wait_until(page, "document.querySelector('#preview strong')?.innerText === 'bold'")
    assert await page.locator("#preview h1").inner_text() == "Big idea"

    await page.locator("#editor-body").press_sequentially("\n\n![](/x.png)")
    await wait_until(page, "document.querySelector('#preview .preview-warning') !== null")
    assert "no alt text" in await page.locator("#preview .preview-warning").inner_text()
    # The only error is the made-up image's 404.
    assert [e for e in page.console_errors if "Failed to load resource" not in e] == []


async def test_autosave_survives_a_reload_without_moving_the_cursor(live_server, page) -> None:
    live_server.seed(a_writer)
    await sign_in(page, live_server.url)
    await page.goto(live_server.url + "/admin/posts/new")
    await wait_until(page, "window.htmx !== undefined")
    await page.fill("#editor-title", "Autosaved thoughts")
    body = page.locator("#editor-body")
    await body.press_sequentially("Line one, typed by hand.")
    await wait_until(page, "document.querySelector('#editor-status').innerText.includes('saved')")
    # The text, the focus and the caret are where the writer left them.
    assert await page.evaluate("document.activeElement.id") == "editor-body"
    caret = await page.evaluate("document.querySelector('#editor-body').selectionStart")
    assert caret == len("Line one, typed by hand.")
    assert "/admin/posts/" in page.url and page.url.endswith("/edit")

    await page.reload()
    assert await page.locator("#editor-title").input_value() == "Autosaved thoughts"
    assert await page.locator("#editor-body").input_value() == "Line one, typed by hand."
    assert page.console_errors == []


async def test_typing_without_a_pause_still_autosaves(live_server, page) -> None:
    live_server.seed(a_writer)
    # The page's clock is Playwright's, moved on by the test: twelve seconds of typing,
    # and the pause after them, take a moment.
    await page.clock.install()
    await sign_in(page, live_server.url)
    await page.goto(live_server.url + "/admin/posts/new")
    await wait_until(page, "window.htmx !== undefined")
    sent: list[str] = []
    answered = asyncio.Event()

    def autosave(message: Any) -> bool:
        return message.url.endswith("/admin/posts/autosave")

    page.on("request", lambda request: autosave(request) and sent.append(request.post_data or ""))
    page.on("response", lambda response: autosave(response) and answered.set())
    now = await page.evaluate("Date.now()")
    await page.clock.pause_at(datetime.fromtimestamp(now / 1000 + 1, UTC))
    # Twelve seconds of typing, never three seconds apart: the debounce alone never fires.
    body = page.locator("#editor-body")
    for _ in range(40):
        await body.press("x")
        await page.clock.run_for(300)
    await asyncio.wait_for(answered.wait(), DEADLINE_SECONDS)
    # Sent ten seconds into the burst, before its last keys.
    assert "x" * 20 in sent[0] and "x" * 40 not in sent[0], sent
    # The pause at the end still saves what came last, three seconds on.
    async with page.expect_response(
        lambda response: autosave(response) and "x" * 40 in (response.request.post_data or ""),
        timeout=DEADLINE_SECONDS * 1000,
    ) as last:
        await page.clock.run_for(3000)
    assert (await last.value).status == 200
    assert page.console_errors == []


async def test_publishing_with_an_autosave_pending_says_it_is_live(live_server, page) -> None:
    live_server.seed(a_writer_and_a_post)
    await page.clock.install()
    await sign_in(page, live_server.url)
    await page.click("text=Shared draft")
    await page.wait_for_url("**/edit")
    await wait_until(page, "window.htmx !== undefined")
    autosaves: list[str] = []
    page.on(
        "request",
        lambda request: request.url.endswith("/admin/posts/autosave") and autosaves.append("sent"),
    )
    revisions = page.locator("#revisions li")
    before = await revisions.count()
    # Typed, then published before the three-second pause is over: an autosave is pending.
    await page.locator("#editor-body").press_sequentially(" More.")
    await page.click("button[name=action][value=publish]")
    await wait_until(page, SAVED)
    assert "published" in await page.locator("#editor-status").inner_text()
    # The revisions list has the save without a reload.
    await wait_until(page, f"document.querySelectorAll('#revisions li').length === {before + 1}")
    # The pause passes: the pending autosave has nothing new, and is not sent.
    await page.clock.run_for(5000)
    await wait_until(page, "document.querySelector('#editor-state') !== null")
    status = await page.locator("#editor-status").inner_text()
    assert "published" in status and "not yet live" not in status, status
    assert autosaves == []
    assert await revisions.count() == before + 1
    # Typing on after the save autosaves again, and says the post stays live.
    await page.locator("#editor-body").press_sequentially(" Again.")
    async with page.expect_response(
        lambda response: response.url.endswith("/admin/posts/autosave"),
        timeout=DEADLINE_SECONDS * 1000,
    ):
        await page.clock.run_for(3500)
    await wait_until(page, "!document.querySelector('#editor-status').innerText.includes('Saved')")
    assert "not yet live" in await page.locator("#editor-status").inner_text()
    assert page.console_errors == []


async def test_a_conflicting_save_from_a_second_tab_shows_both_versions(
    live_server, browser
) -> None:
    live_server.seed(a_writer_and_a_post)
    context = await browser.new_context()
    try:
        first = await context.new_page()
        await sign_in(first, live_server.url)
        await first.click("text=Shared draft")
        await first.wait_for_url("**/edit")
        await wait_until(first, "window.htmx !== undefined")
        second = await context.new_page()
        await second.goto(first.url)
        await wait_until(second, "window.htmx !== undefined")

        await second.fill("#editor-body", "The second tab's text.")
        await second.click("button[name=action][value=draft]")
        await wait_until(
            second, "document.querySelector('#editor-status').innerText.includes('Saved')"
        )

        await first.fill("#editor-body", "The first tab's text.")
        await first.click("button[name=action][value=draft]")
        await wait_until(first, "document.querySelector('.conflict') !== null")
        conflict = await first.locator(".conflict").inner_text()
        assert "The second tab's text." in conflict and "The first tab's text." in conflict
        # The writer's own text is still in the form, ready to be saved over theirs.
        assert await first.locator("#editor-body").input_value() == "The first tab's text."
        await first.click("button[name=action][value=draft]")
        await wait_until(
            first, "document.querySelector('#editor-status').innerText.includes('Saved')"
        )
    finally:
        await context.close()


async def test_every_admin_action_works_without_javascript(live_server, browser) -> None:
    live_server.seed(a_writer)
    context = await browser.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        base = live_server.url
        await sign_in(page, base, scripted=False)

        await page.click("text=New post")
        await page.fill("#editor-title", "Written without script")
        await page.fill("#editor-body", "Plain **forms** all the way.")
        await page.click("button.no-js-only")  # Preview
        assert await page.locator("#preview strong").inner_text() == "forms"
        await page.click("button[name=action][value=draft]")
        await page.wait_for_url("**/edit?saved=1")
        assert await page.locator("#editor-body").input_value() == "Plain **forms** all the way."

        await page.goto(base + "/admin/?status=draft")
        assert await page.locator("td a", has_text="Written without script").count() == 1
        await page.click("button:has-text('Publish now')")
        await page.wait_for_url("**/admin/?notice=*")
        assert await page.locator(".state-published").count() == 1

        await page.click("button:has-text('Unpublish')")
        await page.wait_for_url("**/admin/?notice=*")
        assert await page.locator(".state-draft").count() == 1

        await page.click("a.danger:has-text('Delete')")
        await page.click("button:has-text('Delete for good')")
        await page.wait_for_url("**/admin/?notice=*")
        assert "Deleted" in await page.locator(".notice").inner_text()
        assert await page.locator("#admin-posts tr").count() == 0

        await page.click("text=Sign out")
        await page.goto(base + "/admin/")
        assert "/login" in page.url
    finally:
        await context.close()


def a_png(folder, name: str = "sunset.png") -> str:
    from PIL import Image

    path = folder / name
    Image.new("RGB", (64, 48), (200, 120, 40)).save(path)
    return str(path)


async def test_media_and_comments_are_managed_without_javascript(
    live_server, browser, tmp_path
) -> None:
    async def with_a_comment(session: AsyncSession) -> None:
        await a_writer(session)
        post = await write_post(
            session,
            title="Open to comments",
            body="Talk.",
            status=PostStatus.PUBLISHED,
            comments_enabled=True,
            author=await accounts.by_email(session, EMAIL),
        )
        for name in ("Waiting Reader", "Spammer", "Doomed"):
            session.add(
                Comment(
                    post_id=post.id,
                    author_name=name,
                    body="Hello",
                    body_html=f"<p>Hello from {name}</p>",
                    status=CommentStatus.PENDING,
                )
            )

    live_server.seed(with_a_comment)
    context = await browser.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        base = live_server.url
        await sign_in(page, base, scripted=False)

        await page.click("text=Media")
        await page.set_input_files("#upload-file", a_png(tmp_path))
        await page.fill("#upload-alt", "An orange square")
        await page.click("#media-upload button[type=submit]")
        await page.wait_for_url("**/admin/media**")
        assert await page.locator(".media-grid img[alt='An orange square']").count() == 1
        await page.click(".media-grid button:has-text('Delete')")
        await page.wait_for_url("**/admin/media**")
        assert await page.locator(".media-grid li").count() == 0

        await page.click("nav.admin-nav >> text=Comments")
        assert "3" in await page.locator("#pending-count").inner_text()
        row = page.locator("tr", has_text="Waiting Reader")
        await row.locator("button:has-text('Approve')").click()
        await page.wait_for_url("**/admin/comments/?*notice=*")
        assert "Approved" in await page.locator(".notice").inner_text()
        await page.locator("tr", has_text="Spammer").locator("button:has-text('Spam')").click()
        await page.wait_for_url("**/admin/comments/?*notice=*")
        await page.locator("tr", has_text="Doomed").locator("a:has-text('Delete')").click()
        await page.click("button:has-text('Delete for good')")
        await page.wait_for_url("**/admin/comments/?*notice=*")
        assert await page.locator("#comments-queue tr", has_text="Doomed").count() == 0
        assert await page.locator("#pending-count").is_hidden()

        await page.goto(base + "/admin/comments/?status=all")
        assert await page.locator(".state-approved").count() == 1
        assert await page.locator(".state-spam").count() == 1
    finally:
        await context.close()


async def test_inline_actions_work_with_javascript(live_server, page) -> None:
    async def seeded(session: AsyncSession) -> None:
        await a_writer(session)
        user = await accounts.by_email(session, EMAIL)
        await write_post(session, title="Inline one", body="x", author=user)
        await write_post(
            session, title="Inline two", body="x", author=user, status=PostStatus.PUBLISHED
        )

    live_server.seed(seeded)
    await sign_in(page, live_server.url)
    await page.evaluate("window.quireMarker = 'kept'")
    row = page.locator("tr", has_text="Inline one")
    await row.locator("button:has-text('Publish now')").click()
    await wait_until(
        page,
        "[...document.querySelectorAll('tr')].some(r => r.innerText.includes('Inline one')"
        " && r.querySelector('.state-published'))",
    )
    page.once("dialog", lambda dialog: dialog.accept())
    await page.locator("tr", has_text="Inline two").locator("a.danger").click()
    await wait_until(
        page,
        "![...document.querySelectorAll('tr')].some(r => r.innerText.includes('Inline two'))",
    )
    assert await page.evaluate("window.quireMarker") == "kept", "no reload"
    assert page.console_errors == []


DROP_A_PNG = """async () => {
  const canvas = document.createElement("canvas");
  canvas.width = 640; canvas.height = 320;
  const context = canvas.getContext("2d");
  context.fillStyle = "#2a7a32"; context.fillRect(0, 0, 640, 320);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  const transfer = new DataTransfer();
  transfer.items.add(new File([blob], "chart.png", { type: "image/png" }));
  const textarea = document.querySelector("#editor-body");
  const options = { dataTransfer: transfer, bubbles: true, cancelable: true };
  textarea.dispatchEvent(new DragEvent("drop", options));
}"""


async def a_new_post_with_the_cursor_at(live_server, page, text: str, cursor: int) -> Any:
    """The editor of a new post holding `text`, the caret at `cursor`: its text box."""
    live_server.seed(a_writer)
    await sign_in(page, live_server.url)
    await page.goto(live_server.url + "/admin/posts/new")
    await wait_until(page, "window.htmx !== undefined")
    body = page.locator("#editor-body")
    await body.fill(text)
    await body.evaluate(f"box => box.setSelectionRange({cursor}, {cursor})")
    return body


async def test_insert_image_picks_files_and_asks_for_each_description(
    live_server, page, tmp_path
) -> None:
    body = await a_new_post_with_the_cursor_at(live_server, page, "Text.\n", 6)
    # The button opens the file picker (a native button: Enter and Space press it too).
    assert await page.locator("#insert-image").evaluate("b => b.type") == "button"
    async with page.expect_file_chooser() as chooser:
        await page.click("#insert-image")
    await (await chooser.value).set_files([a_png(tmp_path), a_png(tmp_path, "second.png")])
    # One box per picture, in turn: the first left out by Escape, the second described.
    label = page.locator("#image-alt-label")
    await wait_until(page, "document.activeElement.id === 'image-alt-text'")
    assert "sunset.png" in await label.inner_text()
    await page.keyboard.press("Escape")
    await wait_until(
        page, "document.querySelector('#image-alt-label').innerText.includes('second.png')"
    )
    await page.keyboard.type("An orange square")
    await page.click("#image-alt [data-image-insert]")
    await wait_until(page, "document.querySelector('#editor-body').value.includes('/media/')")
    text = await body.input_value()
    assert text.count("/media/") == 1 and "![An orange square](/media/" in text
    assert await page.locator("#image-alt").is_hidden()
    assert page.console_errors == []


async def test_dropping_an_image_inserts_its_markdown_at_the_cursor(live_server, page) -> None:
    text = "Before the picture.\nAfter the picture."
    body = await a_new_post_with_the_cursor_at(live_server, page, text, 20)

    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await page.evaluate(DROP_A_PNG)
    # Described in the editor's own box, not in a dialog.
    alt = page.locator("#image-alt-text")
    await alt.wait_for(state="visible")
    assert "chart.png" in await page.locator("#image-alt-label").inner_text()
    assert await page.evaluate("document.activeElement.id") == "image-alt-text"
    await alt.fill("A green chart")
    await alt.press("Enter")  # inserts: it does not send the editor's form
    await wait_until(page, "document.querySelector('#editor-body').value.includes('/media/')")
    assert dialogs == []
    assert await page.locator("#image-alt").is_hidden()
    assert await page.evaluate("document.activeElement.id") == "editor-body"
    text = await body.input_value()
    lines = text.split("\n")
    assert lines[0] == "Before the picture."
    assert lines[1].startswith("![A green chart](/media/") and lines[1].endswith(".png)")
    assert lines[2] == "After the picture."
    # The preview shows the uploaded image, served from the library.
    await wait_until(page, "document.querySelector('#preview img')?.complete === true")
    assert "/media/" in await page.evaluate("document.querySelector('#preview img').currentSrc")
    assert await page.evaluate("document.querySelector('#preview img').naturalWidth") > 0
    assert page.console_errors == []
