"""Every reader's page is valid HTML5, checked by the W3C's Nu validator (vnu)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import time
from datetime import timedelta
from html import unescape as html_unescape
from pathlib import Path
from typing import Any

from sqlalchemy import select

from components.comments.markup import render
from components.comments.stamps import issue_stamp
from components.models import Comment, CommentStatus, Post, PostStatus, Revision, Role, utcnow
from components.settings import PROJECT_ROOT

from .conftest import (
    TEST_SECRET,
    make_user,
    post_address,
    post_form,
    sign_in,
    unavailable,
    write_post,
)
from .test_pages import publish

HX = {"HX-Request": "true", "HX-Request-Type": "partial"}
FRAGMENT_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fragment</title></head>'
    "<body>{}</body></html>"
)
# What a fragment is swapped into, by its first element, where <body> is not a valid parent.
PARENTS = {
    "li": ("<ul>", "</ul>"),
    "tr": ("<table><tbody>", "</tbody></table>"),
    "option": ('<datalist id="fragment">', "</datalist>"),
}
PARTIAL = re.compile(r"(<hx-partial\b[^>]*>)(.*?)(</hx-partial>)", re.S)
STATUS = {"not-found": 404, "reset-expired": 404, "bad-request": 400}
DESCRIBED = re.compile(r'<meta name="description" content="[^"]+">')
FIRST_TAG = re.compile(r"<([a-z][a-z0-9-]*)")
VNU = PROJECT_ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
BODY = (
    "Intro with $x^2$ and a footnote.[^n]\n\n## One\n\n- [x] done\n- [ ] todo\n\n"
    "## Two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n### Three\n\n```python\nx = 1\n```\n\n"
    "$$\n\\int_0^1 x\\,dx\n$$\n\n[^n]: The note.\n"
)


async def test_pages_are_valid_html5(client, db, tmp_path: Path) -> None:
    java = shutil.which("java")
    if java is None or not VNU.exists():
        unavailable("the HTML validator needs java and node_modules/vnu-jar (npm ci)")
    await publish(db, "Older", days_ago=3, body="Plain.", tags=["Python"], series="Deep dive")
    post = await publish(
        db, "Rich <post>", days_ago=2, body=BODY, tags=["Python", "Math"], comments_enabled=True
    )
    first = Comment(
        post_id=post.id,
        author_name="Lin <Reader>",
        author_url="https://lin.example/?a=1&b=2",
        body="*Hi*",
        body_html=render("*Hi* `code` https://x.example"),
        status=CommentStatus.APPROVED,
    )
    db.add(first)
    await db.flush()
    for status in (CommentStatus.APPROVED, CommentStatus.PENDING):
        db.add(
            Comment(
                post_id=post.id,
                parent_id=first.id,
                author_name="Reply",
                body="> quoted",
                body_html=render("> quoted\n\n1. one\n2. two"),
                status=status,
            )
        )
    await db.commit()
    await publish(db, "Newer", days_ago=1, body="Plain.", series="Deep dive")
    for number in range(10):  # enough for a second page of the home page
        await publish(db, f"Filler {number}", days_ago=4 + number)
    await write_post(db, title="Draft", body="x", status=PostStatus.DRAFT)
    await publish(db, "Tomorrow", published_at=utcnow() + timedelta(days=1))
    paths = {
        "home": "/",
        "post": post_address(post),
        "post-reply": f"{post_address(post)}?reply_to={first.id}",
        "tags": "/tags",
        "tag": "/tags/python",
        "archive": "/archive",
        "search": "/search?q=plain",
        "search-empty": "/search?q=zzz",
        "search-blank": "/search",
        "series": "/series/deep-dive",
        "reset-expired": "/reset/not-a-token",
        "not-found": "/nowhere",
        "bad-request": "/?before=nonsense",
    }
    files = []

    async def keep(name: str, path: str, status: int = 200) -> None:
        response = await client.get(path)
        assert response.status_code == status, path
        html = await response.get_data(as_text=True)
        if status == 200 and not path.startswith(("/admin", "/account")):
            # What a search engine or a shared link shows under the title.
            assert DESCRIBED.search(html), f"{path} has no meta description"
        file = tmp_path / f"{name}.html"
        file.write_text(html)
        files.append(str(file))

    for name, path in paths.items():
        await keep(
            name,
            path,
            404
            if name in ("not-found", "reset-expired")
            else 400
            if name == "bad-request"
            else 200,
        )
    await keep("login", "/login")

    # The writer's pages.
    await make_user(db, "ada@example.com", "Ada", Role.ADMIN)
    await sign_in(client, "ada@example.com")
    saved = await post_form(client, "/admin/posts/save", {"title": "Mine", "body": BODY})
    mine = int(saved.headers["Location"].split("/")[-2])
    await post_form(
        client, "/admin/posts/save", {"title": "Mine", "body": "Changed.", "post_id": str(mine)}
    )
    [revision] = (
        await db.scalars(select(Revision.id).where(Revision.post_id == mine).limit(1))
    ).all()
    for name, path in {
        "admin": "/admin/",
        "editor-new": "/admin/posts/new",
        "editor": f"/admin/posts/{mine}/edit",
        "revision": f"/admin/posts/{mine}/revisions/{revision}",
        "delete": f"/admin/posts/{mine}/delete",
        "account": "/account",
        "media": "/admin/media",
        "comments": "/admin/comments/?status=all",
        "comment-delete": f"/admin/comments/{first.id}/delete",
        "editor-new-page": "/admin/posts/new?kind=page",
        "profile": "/account/profile/",
        "followers": "/admin/followers/",
        "following": "/admin/following/",
        "settings": "/admin/settings/",
        "subscribers": "/admin/subscribers/",
        "users": "/admin/users/",
    }.items():
        await keep(name, path)
    # A private preview link: the page that shows it once, the editor that lists it, the
    # preview it opens (to anyone), and a link that opens nothing.
    made = await post_form(client, f"/admin/posts/{mine}/previews", {"lifetime": "7"})
    assert made.status_code == 200
    made_page = await made.get_data(as_text=True)
    (tmp_path / "preview-made.html").write_text(made_page)
    files.append(str(tmp_path / "preview-made.html"))
    preview_path = re.search(r'value="https?://[^/"]+(/preview/[^"]+)"', made_page)
    assert preview_path is not None
    await keep("editor-preview-links", f"/admin/posts/{mine}/edit")
    await keep("preview-links", f"/admin/posts/{mine}/previews")
    await keep("preview", preview_path.group(1))
    await keep("preview-gone", "/preview/not-a-token", 404)
    await post_form(
        client,
        "/admin/posts/save",
        {"title": "About", "body": BODY, "kind": "page", "action": "publish"},
    )
    await keep("page", "/about")
    await keep("author", "/authors/ada")
    # Signed in, the reader's pages carry the writer's CSRF header and footer.
    for name, path in {"home-signed-in": "/", "post-signed-in": post_address(post)}.items():
        await keep(name, path)

    # Fragments, as htmx asks for them: each checked inside a bare page of its own.
    async def keep_fragment(name: str, response: Any) -> None:
        assert response.status_code in (200, 409, 422), name
        html = await response.get_data(as_text=True)
        assert "<html" not in html, name
        for number, piece in enumerate(fragment_pieces(html)):
            file = tmp_path / f"fragment-{name}-{number}.html"
            file.write_text(standalone(piece))
            files.append(str(file))

    async def get_fragment(name: str, path: str) -> None:
        await keep_fragment(name, await client.get(path, headers=HX))

    home = await (await client.get("/")).get_data(as_text=True)
    next_page = re.search(r'<a href="([^"]+)" rel="next"', home)
    assert next_page is not None
    await get_fragment("home-next", html_unescape(next_page.group(1)))
    await get_fragment("search-live", "/search?q=plain")
    await get_fragment("tag-suggestions", "/admin/tags/suggest?tags=Py")
    await get_fragment("reply-form", f"{post_address(post)}/comments/{first.id}/reply")
    await keep_fragment(
        "preview", await post_form(client, "/admin/preview", {"body": BODY}, headers=HX)
    )
    version = await db.scalar(select(Post.version).where(Post.id == mine))
    for name, at in (("editor-saved", version), ("editor-conflict", 1)):
        await keep_fragment(
            name,
            await post_form(
                client,
                "/admin/posts/save",
                {"title": "Mine", "body": "Again.", "post_id": str(mine), "version": str(at)},
                headers=HX,
            ),
        )
    await keep_fragment(
        "editor-refused",
        await post_form(client, "/admin/posts/save", {"title": "", "body": "x"}, headers=HX),
    )
    await keep_fragment(
        "comment-placed",
        await post_form(
            client,
            f"{post_address(post)}/comments",
            {"body": "From the writer.", "stamp": issue_stamp(TEST_SECRET, time.time() - 60)},
            headers={**HX, "Sec-Fetch-Site": "same-origin"},
        ),
    )
    [held] = (
        await db.scalars(select(Comment).where(Comment.status == CommentStatus.PENDING))
    ).all()
    await keep_fragment(
        "comment-approved",
        await post_form(client, f"/admin/comments/{held.id}/approve", headers=HX),
    )
    await keep_fragment(
        "preview-links-made",
        await post_form(client, f"/admin/posts/{mine}/previews", {"lifetime": "1"}, headers=HX),
    )
    await check(java, files)


def fragment_pieces(html: str) -> list[str]:
    """A fragment as the pieces htmx places: its main content, its <hx-partial>
    instructions (emptied: htmx removes them), and each partial's content, which goes to
    the partial's target."""
    contents = [match.group(2) for match in PARTIAL.finditer(html)]
    shells = "".join(match.group(1) + match.group(3) for match in PARTIAL.finditer(html))
    return [PARTIAL.sub("", html), shells, *contents]


def standalone(piece: str) -> str:
    """A piece of a fragment inside a page of its own, under the parent it is placed in."""
    first = FIRST_TAG.search(piece)
    opening, closing = PARENTS.get(first.group(1) if first else "", ("", ""))
    return FRAGMENT_PAGE.format(f"{opening}{piece}{closing}")


async def check(java: str, files: list[str]) -> None:
    """Every file through the Nu checker at once (one JVM start), errors only."""
    process = await asyncio.create_subprocess_exec(
        java,
        "-jar",
        str(VNU),
        "--errors-only",
        "--format",
        "json",
        *files,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, report = await process.communicate()
    messages = json.loads(report)["messages"]
    problems = [
        f"{Path(m.get('url', '')).name}:{m.get('lastLine')}: {m['message']}" for m in messages
    ]
    assert not problems, "\n".join(problems)
