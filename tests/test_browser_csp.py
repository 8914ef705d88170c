"""The Content-Security-Policy holds on every page: Chromium reports no violation
(no inline script, style or handler anywhere, htmx's own indicator style included)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from components import demo
from components.models import PostStatus

from .conftest import write_post
from .test_browser_reading import wait_until
from .test_browser_writing import a_writer, sign_in

# On the session's event loop, where the shared Chromium runs (conftest.browser).
pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="session")]

# Recorded from the first script the page runs, before any of ours or htmx's. The fence
# is a violation the test makes on purpose, last: reports come in order, so once it is
# seen, every violation before it has been recorded (and the recorder shown to work).
RECORD_VIOLATIONS = """
window.cspViolations = [];
window.cspFenced = false;
window.htmxProcessed = false;
document.addEventListener('securitypolicyviolation', (event) => {
  if (event.target.id === 'csp-fence') { window.cspFenced = true; return; }
  window.cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`);
});
document.addEventListener('htmx_after_process', (event) => {
  if (event.target === document.body) window.htmxProcessed = true;
});
"""
FENCE = "document.head.insertAdjacentHTML('beforeend', '<style id=\"csp-fence\">p{}</style>')"


async def demo_blog_with_a_writer(session: AsyncSession) -> None:
    await demo.load(session)
    await a_writer(session)
    await write_post(
        session,
        title="Math and code",
        body="$e^{i\\pi}+1=0$\n\n```python\nx = 1\n```",
        status=PostStatus.PUBLISHED,
    )


async def test_no_page_violates_the_content_security_policy(live_server, page) -> None:
    live_server.seed(demo_blog_with_a_writer)
    base = live_server.url
    await page.add_init_script(RECORD_VIOLATIONS)
    await page.goto(base + "/")
    post = await page.locator("article.card h2 a").first.get_attribute("href")
    # The demo post with a diagram: its inline SVG needs no style the policy refuses.
    drawn = await page.locator("article.card h2 a", has_text="Git history").get_attribute("href")
    tag = await page.locator("a[href^='/tags/']").first.get_attribute("href")
    # The home page's own link to its second page, as sent: with script, the page may have
    # scrolled on to it already.
    home = await (await page.request.get(base + "/")).text()
    older = re.search(r'href="(/\?before=[^"]+)"', home)
    assert older, "no second page"
    public = [
        "/",
        html.unescape(older.group(1)),
        post,
        drawn,
        "/tags",
        tag,
        "/archive",
        "/search?q=git",
        "/login",
        "/2001/01/01/nowhere",
    ]
    private = [
        "/admin/",
        "/admin/posts/new",
        "/admin/media",
        "/admin/comments/",
        "/admin/settings/",
        "/account",
    ]
    seen: dict[str, list[str]] = {}
    for path in public:
        seen[path] = await violations_on(page, base + path)
    await sign_in(page, base)
    first = await page.locator("a[href$='/edit']").first.get_attribute("href")
    for path in [*private, first]:
        seen[path] = await violations_on(page, base + path)
    assert {path: found for path, found in seen.items() if found} == {}
    # The fences' violations only: each page's own reports of them were counted there.
    csp_errors = [e for e in page.console_errors if re.search("Content Security Policy", e)]
    assert len(csp_errors) == len(seen), csp_errors


async def violations_on(page, url: str) -> list[str]:
    await page.goto(url)
    # Once htmx has processed the page (where it would add its indicator style, were it
    # allowed to), the fence: every violation so far is recorded before it.
    await wait_until(page, "window.htmxProcessed")
    await page.evaluate(FENCE)
    await wait_until(page, "window.cspFenced")
    return await page.evaluate("window.cspViolations")
