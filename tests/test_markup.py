"""Every reader's page is valid HTML5, checked by the W3C's Nu validator (vnu)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from datetime import timedelta
from pathlib import Path

from components.comments.markup import render
from components.models import Comment, CommentStatus, PostStatus, Role, utcnow
from components.settings import PROJECT_ROOT

from .conftest import make_user, post_address, post_form, sign_in, unavailable, write_post
from .test_pages import publish

HTMX_ATTRIBUTE = re.compile(r"Attribute “hx-[a-z-]+(:[a-z-]+)?” not allowed on element")
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
    await publish(db, "Older", days_ago=3, body="Plain.", tags=["Python"])
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
    await publish(db, "Newer", days_ago=1, body="Plain.")
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
        "not-found": "/nowhere",
        "bad-request": "/?before=nonsense",
    }
    files = []

    async def keep(name: str, path: str, status: int = 200) -> None:
        response = await client.get(path)
        assert response.status_code == status, path
        file = tmp_path / f"{name}.html"
        file.write_bytes(await response.get_data())
        files.append(str(file))

    for name, path in paths.items():
        await keep(
            name, path, 404 if name == "not-found" else 400 if name == "bad-request" else 200
        )
    await keep("login", "/login")

    # The writer's pages.
    await make_user(db, "ada@example.com", "Ada", Role.ADMIN)
    await sign_in(client, "ada@example.com")
    await post_form(client, "/admin/posts/save", {"title": "Mine", "body": BODY})
    await post_form(
        client, "/admin/posts/save", {"title": "Mine", "body": "Changed.", "post_id": "6"}
    )
    for name, path in {
        "admin": "/admin/",
        "editor-new": "/admin/posts/new",
        "editor": "/admin/posts/6/edit",
        "revision": "/admin/posts/6/revisions/1",
        "delete": "/admin/posts/6/delete",
        "account": "/account",
        "media": "/admin/media",
        "comments": "/admin/comments/?status=all",
        "comment-delete": f"/admin/comments/{first.id}/delete",
    }.items():
        await keep(name, path)
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
        (Path(m.get("url", "")).name, m.get("lastLine"), m["message"])
        for m in messages
        # htmx's own attributes are the one thing HTML5 does not know; all else must pass.
        if not HTMX_ATTRIBUTE.match(m["message"])
    ]
    assert problems == []
