"""`quire import export.xml`: a WordPress export (WXR 1.2) with posts, a page, drafts,
a scheduled post, authors, comments in threads, attachments and hostile files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from components.models import Comment, CommentStatus, PostKind
from components.posts import post_status_label
from components.wordpress import wxr
from components.wordpress.html import to_markdown

from .conftest import backend_url, make_user, run_async, session_on
from .portability import Blog

EXPORT = Path(__file__).parent / "fixtures" / "wordpress" / "blog.xml"
SLUGS = {"hello-world", "half-written", "from-the-future", "video-night", "about"}


@pytest.fixture
def blog(backend: str, postgres_schema: None, tmp_path: Path) -> Blog:
    return Blog.empty(backend_url(backend, tmp_path), tmp_path)


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    """The export's wp-content/uploads, with the cover and the original of a resized image."""
    folder = tmp_path / "uploads"
    (folder / "2023" / "01").mkdir(parents=True)
    Image.new("RGB", (40, 30), "navy").save(folder / "2023" / "01" / "cover.png")
    Image.new("RGB", (60, 40), "teal").save(folder / "2023" / "01" / "diagram.png")
    return folder


def comments(blog: Blog) -> list[Comment]:
    async def read() -> list[Comment]:
        async with session_on(blog.url) as session:
            return list(await session.scalars(select(Comment).order_by(Comment.created_at)))

    return run_async(read())


def test_a_wordpress_export_comes_in_whole(blog: Blog, uploads: Path) -> None:
    result = blog.quire("import", "--media", str(uploads), str(EXPORT))
    assert result.exit_code == 0, result.output
    assert "5 created, 0 updated, 0 unchanged; 2 image(s) added; 4 comment(s) added" in (
        result.stdout
    )
    posts = blog.posts()
    assert set(posts) == SLUGS
    assert posts["about"].kind is PostKind.PAGE
    assert {slug for slug, post in posts.items() if post.kind is PostKind.POST} == SLUGS - {"about"}
    labels = {slug: post_status_label(post) for slug, post in posts.items()}
    assert labels == {
        "hello-world": "published",
        "half-written": "draft",
        "from-the-future": "scheduled",
        "video-night": "published",
        "about": "published",
    }

    hello = posts["hello-world"]
    assert hello.title == "Hello, world"
    assert hello.description == "A first post, in *short*."
    assert {tag.name for tag in hello.tags} == {"Python", "tips"}
    assert hello.comments_enabled and not posts["half-written"].comments_enabled
    assert '```python\ndef greet(name):\n    return f"Hello, {name} <3"\n```' in hello.body
    assert "**bold**" in hello.body and "[link](https://python.org)" in hello.body
    # The resized copy's address leads to the original in the uploads folder.
    assert "![A diagram](/media/" in hello.body and "old.example.com" not in hello.body
    assert hello.front_matter["image"].startswith("/media/")
    assert hello.front_matter["wordpress_id"] == 10
    assert f"{hello.updated_at:%Y-%m-%d %H:%M}" == "2023-02-01 08:30"

    draft = posts["half-written"]
    assert draft.body.startswith("A classic-editor draft.  \nWith a second line.\n\n```js\n")
    assert '[gallery ids="31,32"]' in draft.body

    # Authors become accounts that cannot sign in until an admin enables them.
    people = blog.users()
    assert {email: user.name for email, user in people.items()} == {
        "ada@example.com": "Ada Lovelace",
        "bob@example.com": "Bob Byte",
    }
    assert all(user.disabled_at is not None for user in people.values())
    assert hello.author is not None and hello.author.email == "ada@example.com"
    assert posts["video-night"].author is not None
    assert posts["video-night"].author.email == "bob@example.com"

    # Comments keep their threads and states; pingbacks and the bin stay behind.
    found = comments(blog)
    assert [(c.author_name, c.status) for c in found] == [
        ("Grace", CommentStatus.APPROVED),
        ("Ada Lovelace", CommentStatus.APPROVED),
        ("Cheap pills", CommentStatus.SPAM),
        ("Linus", CommentStatus.PENDING),
    ]
    grace, reply = found[0], found[1]
    assert reply.parent_id == grace.id and grace.parent_id is None
    assert grace.body == "Lovely post.\n\nThanks for *writing* it."
    assert "<em>writing</em>" in grace.body_html
    assert grace.author_url == "https://grace.example.org" and reply.author_url == ""

    # What could not be converted is named, post by post.
    assert "post 10 (Hello, world): block wp:latest-posts (drawn by WordPress) left out" in (
        result.stderr
    )
    assert 'post 11 (Half written): shortcode [gallery ids="31,32"] kept as text' in result.stderr
    assert "post 14 (Video night): <iframe> kept as HTML" in result.stderr

    again = blog.quire("import", "--media", str(uploads), str(EXPORT))
    assert again.exit_code == 0, again.output
    assert "0 created, 0 updated, 5 unchanged" in again.stdout
    assert len(comments(blog)) == 4
    assert len(blog.users()) == 2
    dry = blog.quire("import", "--dry-run", "--media", str(uploads), str(EXPORT))
    assert "5 would be unchanged" in dry.stdout and "comment(s)" not in dry.stdout


def test_a_dry_run_tells_and_writes_nothing(blog: Blog, uploads: Path) -> None:
    result = blog.quire("import", "--dry-run", "--media", str(uploads), str(EXPORT))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(
        "dry run, nothing written: 5 would be created, 0 would be updated, "
        "0 would be unchanged; 2 image(s) would be added; 4 comment(s) would be added"
    )
    assert blog.posts() == {} and blog.users() == {} and comments(blog) == []


def test_without_the_uploads_folder_images_stay_outside_and_are_told(blog: Blog) -> None:
    result = blog.quire("import", str(EXPORT))
    assert result.exit_code == 0, result.output
    assert "1 uploaded file address(es) left pointing outside (pass --media" in result.stderr
    hello = blog.posts()["hello-world"]
    assert "https://old.example.com/wp-content/uploads/2023/01/diagram-300x200.png" in hello.body


def test_an_account_given_with_author_owns_every_post(blog: Blog) -> None:
    async def add() -> None:
        async with session_on(blog.url) as session:
            await make_user(session, "me@example.com", "Me")
            await session.commit()

    run_async(add())
    result = blog.quire("import", "--author", "me@example.com", str(EXPORT))
    assert result.exit_code == 0, result.output
    assert {post.author.email for post in blog.posts().values() if post.author} == {
        "me@example.com"
    }
    assert set(blog.users()) == {"me@example.com"}


async def test_old_wordpress_addresses_answer_301(
    client: Any, database_url: str, tmp_path: Path
) -> None:
    blog = Blog.migrated(database_url, tmp_path)
    result = await asyncio.to_thread(blog.quire, "import", str(EXPORT))
    assert result.exit_code == 0, result.output
    for old, new in (
        ("/?p=10", "/2023/01/05/hello-world"),
        ("/2023/01/hello-world/", "/2023/01/05/hello-world"),
        ("/2023/01/hello-world", "/2023/01/05/hello-world"),
        ("/?page_id=20", "/about"),
        ("/about/", "/about"),
        ("/2023/03/video-night/", "/2023/03/01/video-night"),
    ):
        moved = await client.get(old)
        assert moved.status_code == 301, old
        assert moved.location.endswith(new), old
    for missing in ("/?p=999", "/?p=11", "/?p=12", "/?p=x", "/?page_id=10"):
        assert (await client.get(missing)).status_code == 404, missing
    page = await (await client.get("/2023/01/05/hello-world")).get_data(as_text=True)
    assert "Lovely post." in page and "Thank you, Grace." in page
    assert "Cheap pills" not in page and "Waiting for a look." not in page


# --- files that are not what they say ---------------------------------------------


def test_entity_expansion_is_refused_without_expanding(blog: Blog, tmp_path: Path) -> None:
    laughs = tmp_path / "laughs.xml"
    laughs.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
        + ']>\n<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel>'
        "<wp:wxr_version>1.2</wp:wxr_version><item><title>&i;</title></item></channel></rss>"
    )
    result = blog.quire("import", str(laughs))
    assert result.exit_code == 1
    assert f"{laughs}: refused: DTDForbidden" in result.stderr
    assert blog.posts() == {}


def test_an_external_entity_is_refused(blog: Blog, tmp_path: Path) -> None:
    external = tmp_path / "external.xml"
    external.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        "<rss><channel><title>&x;</title></channel></rss>"
    )
    result = blog.quire("import", str(external))
    assert result.exit_code == 1 and "refused" in result.stderr
    assert "root:" not in result.output


def test_a_truncated_export_keeps_what_came_before_the_break(blog: Blog, tmp_path: Path) -> None:
    text = EXPORT.read_text()
    cut = tmp_path / "cut.xml"
    cut.write_text(text[: text.index("<title><![CDATA[Video night]]>")])
    result = blog.quire("import", str(cut))
    assert result.exit_code == 1
    line = text[: text.index("<title><![CDATA[Video night]]>")].count("\n") + 1
    assert f"{cut}:{line}: the XML breaks at line {line}" in result.stderr
    assert "what came before was imported" in result.stderr
    assert set(blog.posts()) == {"hello-world", "half-written", "from-the-future"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '<rss xmlns:wp="http://wordpress.org/export/9.9/"><channel>'
            "<wp:wxr_version>9.9</wp:wxr_version></channel></rss>",
            "WXR version '9.9' is not one Quire reads (1.0, 1.1, 1.2)",
        ),
        ("<rss><channel><item><title>x</title></item></channel></rss>", "not a WordPress export"),
        ("<html><body>Hello</body></html>", "not a WordPress export: it has no wp:wxr_version"),
        ("", "the XML breaks at line 1"),
    ],
)
def test_a_file_that_is_no_known_export_is_named(
    blog: Blog, tmp_path: Path, text: str, message: str
) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text(text)
    result = blog.quire("import", str(bad))
    assert result.exit_code == 1
    assert message in result.stderr
    assert blog.posts() == {}


def test_the_reader_streams_items_and_learns_the_site() -> None:
    export = wxr.Export()
    with EXPORT.open("rb") as file:
        items = list(wxr.read(file, export))
    assert export.version == "1.2" and export.site_url == "https://old.example.com"
    assert set(export.authors) == {"ada", "bob"}
    assert [item.type for item in items].count("attachment") == 1
    hello = next(item for item in items if item.id == 10)
    assert [c.parent for c in hello.comments] == [0, 101, 0, 0, 0, 0]
    assert hello.excerpt == "A first post, in <em>short</em>."


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ("One\ntwo\n\nThree", "One  \ntwo\n\nThree\n"),
        ('<pre class="brush: ruby">puts 1</pre>', "```ruby\nputs 1\n```\n"),
        ('[sourcecode language="go"]x := 1[/sourcecode]', "```go\nx := 1\n```\n"),
        (
            '[caption id="a" width="300"]<img src="a.png" alt="A"> The caption[/caption]',
            "![A](a.png)\n\n*The caption*\n",
        ),
        ("[embed]https://example.com/v[/embed]", "<https://example.com/v>\n"),
        ("Prose [sic] stays.", "Prose [sic] stays.\n"),
        ("", ""),
    ],
)
def test_html_becomes_markdown(html: str, markdown: str) -> None:
    assert to_markdown(html).markdown == markdown


def test_a_post_cannot_take_a_pages_slug_and_is_skipped_alone(blog: Blog, tmp_path: Path) -> None:
    export = tmp_path / "twice.xml"
    # A page and a post with one slug: the second cannot take the first's place.
    text = EXPORT.read_text().replace(
        "<wp:post_name><![CDATA[video-night]]>", "<wp:post_name><![CDATA[about]]>"
    )
    export.write_text(text)
    result = blog.quire("import", str(export))
    assert result.exit_code == 1
    assert "post 14 (Video night)" in result.stderr or "page 20 (About)" in result.stderr
    assert "give one of them another 'slug:'" in result.stderr
    assert len(blog.posts()) == 4


def test_a_bad_export_among_markdown_files_stops_only_itself(blog: Blog, tmp_path: Path) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "2024-01-01-note.md").write_text("---\ntitle: Note\n---\nHi\n")
    bad = tmp_path / "bad.xml"
    bad.write_text("<rss>")
    result = blog.quire("import", str(folder), str(bad))
    assert result.exit_code == 1
    assert set(blog.posts()) == {"note"}
