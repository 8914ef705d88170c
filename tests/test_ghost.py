"""`quire import ghost-export.json`: a Ghost 5 export with HTML, Lexical and mobiledoc
bodies, a page, a draft, a scheduled and a members-only post, tags and authors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from components.ghost import render
from components.models import PostKind
from components.posts import post_status_label

from .conftest import backend_url
from .portability import Blog

EXPORT = Path(__file__).parent / "fixtures" / "ghost" / "blog.json"


@pytest.fixture
def blog(backend: str, postgres_schema: None, tmp_path: Path) -> Blog:
    return Blog.empty(backend_url(backend, tmp_path), tmp_path)


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "content" / "images"
    (folder / "2024" / "01").mkdir(parents=True)
    Image.new("RGB", (50, 40), "olive").save(folder / "2024" / "01" / "photo.png")
    return folder


def test_a_ghost_export_comes_in_whole(blog: Blog, images: Path) -> None:
    result = blog.quire("import", "--media", str(images), str(EXPORT))
    assert result.exit_code == 0, result.output
    assert "7 created, 0 updated, 0 unchanged; 1 image(s) added" in result.stdout
    posts = blog.posts()
    assert {slug: post_status_label(post) for slug, post in posts.items()} == {
        "html-post": "published",
        "lexical-post": "published",
        "mobiledoc-post": "published",
        "about": "published",
        "a-draft": "draft",
        "later": "scheduled",
        "members-only": "draft",
    }
    assert posts["about"].kind is PostKind.PAGE

    html = posts["html-post"]
    assert html.body.startswith("From **html**.\n\n```python\nx = 1 < 2\n```\n\n![Sized](/media/")
    assert html.description == "An excerpt."
    assert html.front_matter["image"].startswith("/media/")
    assert html.front_matter["image_alt"] == "The cover"
    assert f"{html.updated_at:%Y-%m-%d %H:%M:%S}" == "2023-03-04 05:06:07"
    # The first of a post's authors has the byline.
    assert html.author is not None and html.author.email == "jo@example.com"

    lexical = posts["lexical-post"]
    assert lexical.body.startswith(
        "Written in **Lexical** with [*a link*](/html-post/) and `code`\n\n## A heading\n\n"
        '```rust\nfn main() {\n    println!("<hi>");\n}\n```\n\n- one\n- two\n\n'
        "![A photo](/media/"
    )
    assert "*Taken **here***" in lexical.body
    assert lexical.body.rstrip().endswith("| a | b |\n|---|---|\n| 1 | 2 |")
    assert {tag.name for tag in lexical.tags} == {"Rust", "Notes"}

    mobiledoc = posts["mobiledoc-post"]
    assert mobiledoc.body == (
        "Old **mobiledoc** and [a link](https://example.org)\n\n```python\nprint('hi')\n```\n\n"
        "1. first\n2. second\n\n---\n"
    )
    assert mobiledoc.author is not None and mobiledoc.author.email == "sam@example.com"
    assert f"{mobiledoc.published_at:%Y-%m-%d %H:%M}" == "2022-05-01 08:00"

    assert "lexical-post (A Lexical post): a paywall card left out" in result.stderr
    assert "mobiledoc-post (A mobiledoc post): a gallery card left out" in result.stderr
    assert "members-only (Members only): for paid members only in Ghost: kept as a draft" in (
        result.stderr
    )
    assert all(user.disabled_at is not None for user in blog.users().values())
    assert set(blog.users()) == {"jo@example.com", "sam@example.com"}

    again = blog.quire("import", "--media", str(images), str(EXPORT))
    assert "0 created, 0 updated, 7 unchanged" in again.stdout


def test_without_the_images_folder_their_addresses_are_told(blog: Blog) -> None:
    result = blog.quire("import", str(EXPORT))
    assert result.exit_code == 0, result.output
    assert "image address(es) left pointing outside (pass --media" in result.stderr
    body = blog.posts()["html-post"].body
    assert "](/content/images/size/w600/2024/01/photo.png)" in body
    assert "__GHOST_URL__" not in body


async def test_ghost_addresses_answer_301(client: Any, database_url: str, tmp_path: Path) -> None:
    blog = Blog.migrated(database_url, tmp_path)
    result = await asyncio.to_thread(blog.quire, "import", str(EXPORT))
    assert result.exit_code == 0, result.output
    # Ghost's default permalinks are /slug/.
    moved = await client.get("/html-post/")
    assert moved.status_code == 301
    assert moved.location.endswith("/2023/01/01/html-post")
    assert (await client.get("/members-only/")).status_code == 404


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"db": [{"meta": {"version": "003"}, "data": {"posts": []}}]}', "version '003'"),
        ('{"db": [{"meta": {"version": "5.1.0"}, "data": {"posts": [', "the JSON breaks at line 1"),
        ('{"posts": []}', "not a Ghost export"),
        ('{"db": [{"meta": {"version": "5.1.0"}, "data": {"posts": 3}}]}', "'posts' is not a list"),
    ],
)
def test_a_file_that_is_no_known_ghost_export_is_named(
    blog: Blog, tmp_path: Path, text: str, message: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    result = blog.quire("import", str(bad))
    assert result.exit_code == 1
    assert f"{bad}" in result.stderr and message in result.stderr
    assert blog.posts() == {}


def test_a_lexical_body_is_escaped_as_it_is_drawn() -> None:
    lexical = (
        '{"root": {"type": "root", "children": [{"type": "paragraph", "children": '
        '[{"type": "text", "text": "<script>alert(1)</script>", "format": 0}, '
        '{"type": "link", "url": "\\"><script>", "children": []}]}]}}'
    )
    drawn = render.draw(lexical, "")
    assert "<script>" not in drawn.html
    assert "&lt;script&gt;" in drawn.html and 'href="&quot;&gt;&lt;script&gt;"' in drawn.html
