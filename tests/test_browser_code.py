"""Code blocks and callouts in a real Chromium: the copy button copies the code, and of a
shell session only the commands; numbers never come along; nothing sticks out at a
phone's width; axe finds nothing in either colour scheme."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from components.models import PostStatus
from tests.conftest import DEADLINE_SECONDS, post_address, write_post

from .test_browser_reading import axe_violations, fits, wait_until
from .test_browser_writing import a_writer, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

BODY = """Install it:

```console
$ pip install flask
Collecting flask
  Downloading flask-3.1.0-py3-none-any.whl (20000 kB)
$ flask --app hello run --debug
 * Running on http://127.0.0.1:5000
```

```python title="hello.py" linenums="1" hl_lines="4"
from flask import Flask

app = Flask(__name__)
@app.get("/")
def hello() -> str:
    return "Hello, World! This line is long enough to need scrolling on a phone's screen."
```

```diff-python
 def hello():
-    return "Hello"
+    return "Hello, World!"
```

> [!WARNING]
> Never run the debugger in production.

??? tip "Folded"
    Open me.
"""

ADDRESS: dict[str, str] = {}


async def a_post_with_code(session: Any) -> None:
    post = await write_post(
        session, title="Flask in a minute", body=BODY, status=PostStatus.PUBLISHED
    )
    ADDRESS["post"] = post_address(post)


async def copied(page: Any, figure: int) -> str:
    await page.locator("figure.code").nth(figure).get_by_role("button", name="Copy").click()
    await (
        page.locator("figure.code")
        .nth(figure)
        .get_by_role("status")
        .filter(has_text="Code copied.")
        .wait_for()
    )
    return str(await page.evaluate("navigator.clipboard.readText()"))


async def test_the_copy_button_copies_commands_and_code_without_numbers(
    live_server: Any, browser: Any
) -> None:
    live_server.seed(a_post_with_code)
    context = await browser.new_context(
        viewport={"width": 390, "height": 844}, permissions=["clipboard-read", "clipboard-write"]
    )
    try:
        page = await context.new_page()
        await page.goto(live_server.url + ADDRESS["post"])
        await wait_until(page, "document.querySelectorAll('button.copy-code').length === 3")
        assert await copied(page, 0) == "pip install flask\nflask --app hello run --debug"
        code = await copied(page, 1)
        assert code.startswith("from flask import Flask\n\napp = Flask(__name__)\n")
        assert not any(line[:1].isdigit() for line in code.splitlines())
        # The long line scrolls inside its block; the page itself does not.
        await fits(page)
        # Folded callouts open without script.
        await page.get_by_text("Folded").click()
        assert await page.get_by_text("Open me.").is_visible()
    finally:
        await context.close()


async def test_code_and_callouts_read_in_both_schemes(live_server: Any, browser: Any) -> None:
    live_server.seed(a_post_with_code)
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = await context.new_page()
        await page.goto(live_server.url + ADDRESS["post"])
        assert await page.locator("figure.code").count() == 3
        assert await page.locator(".callout-warning .callout-title").inner_text() == "Warning"
        assert await axe_violations(page) == []
    finally:
        await context.close()


async def test_ctrl_s_saves_as_the_post_stands(live_server: Any, page: Any) -> None:
    """A draft is saved as a draft; once published, Ctrl+S updates it and never takes it
    back to a draft, though the button it presses was chosen before Publish."""
    live_server.seed(a_writer)
    await sign_in(page, live_server.url)
    await page.goto(live_server.url + "/admin/posts/new")
    await wait_until(page, "window.htmx !== undefined")
    await page.fill("#editor-title", "Keys")
    await page.fill("#editor-body", "Saved by a key.")
    await page.locator("#editor-body").press("Control+s")
    await page.locator("#editor-status").filter(has_text=": draft.").wait_for()
    await page.get_by_role("button", name="Publish now").click()
    await page.locator("#editor-status").filter(has_text=": published.").wait_for()
    address = await page.locator("#editor-status a", has_text="View post").get_attribute("href")
    await page.fill("#editor-body", "Saved by a key, and changed.")
    await page.locator("#editor-body").press("Meta+s")
    # Still published, now with the new words: the post page shows them.
    async with asyncio.timeout(DEADLINE_SECONDS):  # only ends a hung test
        for _ in iter(int, 1):
            shown = await (await page.request.get(live_server.url + address)).text()
            if "and changed." in shown:
                break
            await asyncio.sleep(0.1)
    await page.locator("#editor-status").filter(has_text=": published.").wait_for()


DIAGRAMS = """A flow and a graph:

```mermaid title="Request flow"
flowchart LR
  browser[Browser] --> door{Kept?}
  door -->|yes| page[Kept page]
  door -->|no| app[Quart app]
```

```dot
digraph { rankdir=LR; writer -> post -> reader [label="reads"]; }
```
"""


async def a_post_with_diagrams(session: Any) -> None:
    post = await write_post(
        session, title="Drawn at save", body=DIAGRAMS, status=PostStatus.PUBLISHED
    )
    ADDRESS["diagrams"] = post_address(post)


# A node's label in each drawing, resolved to a colour, beside the page's own colours.
TEXT_COLOURS = """(labels) => {
  const main = getComputedStyle(document.querySelector('main'));
  const texts = [...document.querySelectorAll('figure.diagram text')];
  const fills = labels.map((label) =>
    getComputedStyle(texts.find((text) => text.textContent === label)).fill);
  return {page: main.color, background: getComputedStyle(document.body).backgroundColor, fills};
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_diagrams_are_drawn_without_script_in_the_pages_colours(
    live_server: Any, browser: Any, scheme: str
) -> None:
    live_server.seed(a_post_with_diagrams)
    context = await browser.new_context(
        java_script_enabled=False, color_scheme=scheme, viewport={"width": 320, "height": 800}
    )
    try:
        page = await context.new_page()
        await page.goto(live_server.url + ADDRESS["diagrams"])
        drawings = page.locator("figure.diagram svg")
        assert await drawings.count() == 2
        for index in range(2):
            box = await drawings.nth(index).bounding_box()
            assert box is not None and 50 < box["width"] <= 320
        colours = await page.evaluate(TEXT_COLOURS, ["Browser", "writer"])
        assert colours["fills"] == [colours["page"], colours["page"]]
        assert colours["page"] != colours["background"]
        await fits(page)
        # The source is the drawing's name, and a reader can open it without script.
        name = await drawings.first.get_attribute("aria-labelledby")
        assert "door -->|yes|" in (await page.locator(f"#{name}").text_content() or "")
        await page.get_by_text("Mermaid source").click()
        assert await page.locator(f"#{name}").is_visible()
    finally:
        await context.close()


async def test_diagrams_pass_axe_in_both_schemes(live_server: Any, browser: Any) -> None:
    live_server.seed(a_post_with_diagrams)
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = await context.new_page()
        await page.goto(live_server.url + ADDRESS["diagrams"])
        assert await page.locator("figure.diagram svg").count() == 2
        assert await axe_violations(page) == []
    finally:
        await context.close()
