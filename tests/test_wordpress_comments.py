"""WordPress comments across imports: a reply whose parent came in with an earlier import
(of the same export, or of an earlier export file) is put back under it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, update

from components.models import Comment

from .conftest import backend_url, run_async, session_on
from .portability import Blog


@dataclass(frozen=True)
class Said:
    """One comment of an export: its WordPress id, its parent's (0: none), who, when."""

    id: int
    parent: int
    author: str
    day: int


def wxr(comments: list[Said], *, title: str = "Threads") -> str:
    """A WXR 1.2 export of one published post and `comments`, after the format's
    documentation (only the elements Quire reads)."""
    said = "".join(
        "<wp:comment>"
        f"<wp:comment_id>{c.id}</wp:comment_id>"
        f"<wp:comment_author><![CDATA[{c.author}]]></wp:comment_author>"
        f"<wp:comment_date_gmt>2024-03-{c.day:02d} 10:00:00</wp:comment_date_gmt>"
        f"<wp:comment_content><![CDATA[{c.author} says hello.]]></wp:comment_content>"
        "<wp:comment_approved>1</wp:comment_approved>"
        "<wp:comment_type>comment</wp:comment_type>"
        f"<wp:comment_parent>{c.parent}</wp:comment_parent>"
        "</wp:comment>"
        for c in comments
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:wp="http://wordpress.org/export/1.2/"><channel>'
        "<wp:wxr_version>1.2</wp:wxr_version>"
        "<wp:base_blog_url>https://old.example.com</wp:base_blog_url>\n"
        f"<item><title>{title}</title>"
        "<link>https://old.example.com/2024/03/threads/</link>"
        "<content:encoded><![CDATA[<p>Talk to me.</p>]]></content:encoded>"
        "<wp:post_id>7</wp:post_id>"
        "<wp:post_date_gmt>2024-03-01 09:00:00</wp:post_date_gmt>"
        "<wp:comment_status>open</wp:comment_status>"
        "<wp:post_name>threads</wp:post_name><wp:status>publish</wp:status>"
        f"<wp:post_type>post</wp:post_type>{said}</item>\n"
        "</channel></rss>\n"
    )


@pytest.fixture
def blog(backend: str, postgres_schema: None, tmp_path: Path) -> Blog:
    return Blog.empty(backend_url(backend, tmp_path), tmp_path)


def threads(blog: Blog) -> dict[str, str | None]:
    """Each comment's author, and its parent's author (None: top-level)."""

    async def read() -> dict[str, str | None]:
        async with session_on(blog.url) as session:
            found = list(await session.scalars(select(Comment).order_by(Comment.id)))
        names = {comment.id: comment.author_name for comment in found}
        return {c.author_name: names.get(c.parent_id) if c.parent_id else None for c in found}

    return run_async(read())


def imported(blog: Blog, path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    result = blog.quire("import", str(path))
    assert result.exit_code == 0, result.output
    return result.stdout


GRACE = Said(101, 0, "Grace", 2)
ADA = Said(102, 101, "Ada", 3)
LINUS = Said(103, 102, "Linus", 4)


def test_a_reply_in_a_later_export_finds_its_parent_from_the_earlier_one(
    blog: Blog, tmp_path: Path
) -> None:
    first = imported(blog, tmp_path / "first.xml", wxr([GRACE]))
    assert "1 comment(s) added" in first
    # WordPress exports by date: the second file holds only the newer comments.
    second = imported(blog, tmp_path / "newer.xml", wxr([ADA, LINUS]))
    assert "0 created, 0 updated, 1 unchanged; 2 comment(s) added" in second
    assert threads(blog) == {"Grace": None, "Ada": "Grace", "Linus": "Ada"}


def test_a_dry_run_of_the_later_export_counts_its_replies_and_writes_nothing(
    blog: Blog, tmp_path: Path
) -> None:
    imported(blog, tmp_path / "first.xml", wxr([GRACE]))
    (tmp_path / "newer.xml").write_text(wxr([ADA]), encoding="utf-8")
    dry = blog.quire("import", "--dry-run", str(tmp_path / "newer.xml"))
    assert dry.exit_code == 0, dry.output
    assert "1 comment(s) would be added" in dry.stdout
    assert threads(blog) == {"Grace": None}


def test_the_whole_export_again_adds_only_the_new_replies_under_their_parents(
    blog: Blog, tmp_path: Path
) -> None:
    imported(blog, tmp_path / "export.xml", wxr([GRACE, ADA]))
    again = imported(blog, tmp_path / "export.xml", wxr([GRACE, ADA, LINUS]))
    assert "1 comment(s) added" in again
    assert threads(blog) == {"Grace": None, "Ada": "Grace", "Linus": "Ada"}
    assert "comment(s)" not in imported(blog, tmp_path / "export.xml", wxr([GRACE, ADA, LINUS]))


def test_comments_imported_before_ids_were_kept_are_given_theirs(
    blog: Blog, tmp_path: Path
) -> None:
    imported(blog, tmp_path / "first.xml", wxr([GRACE]))

    async def forget() -> None:
        # As an import before migration 0024 left them: no WordPress id.
        async with session_on(blog.url) as session:
            await session.execute(update(Comment).values(wordpress_id=None))
            await session.commit()

    run_async(forget())
    # The parent is in this file too: it is known again by who wrote it when, and keeps
    # its id from now on, so the file after this one finds it.
    imported(blog, tmp_path / "again.xml", wxr([GRACE, ADA]))
    imported(blog, tmp_path / "newer.xml", wxr([LINUS]))
    assert threads(blog) == {"Grace": None, "Ada": "Grace", "Linus": "Ada"}


def test_a_parent_that_is_nowhere_leaves_the_reply_at_the_top(blog: Blog, tmp_path: Path) -> None:
    imported(blog, tmp_path / "orphan.xml", wxr([Said(105, 999, "Orphan", 5)]))
    assert threads(blog) == {"Orphan": None}


def test_a_parent_on_another_post_is_not_taken(blog: Blog, tmp_path: Path) -> None:
    other = wxr([GRACE]).replace("<wp:post_name>threads", "<wp:post_name>elsewhere")
    other = other.replace("<wp:post_id>7<", "<wp:post_id>8<").replace("/threads/", "/elsewhere/")
    imported(blog, tmp_path / "other.xml", other)
    imported(blog, tmp_path / "reply.xml", wxr([ADA]))
    assert threads(blog) == {"Grace": None, "Ada": None}


def test_the_ids_go_out_with_a_backup_and_come_back(blog: Blog, tmp_path: Path) -> None:
    imported(blog, tmp_path / "first.xml", wxr([GRACE]))
    out = tmp_path / "backup"
    assert blog.quire("export", str(out)).exit_code == 0
    assert "wordpress_id: 101" in (out / "_data" / "quire_comments.yml").read_text()
    again = Blog.empty(blog.url, tmp_path / "restored")
    assert again.quire("import", str(out)).exit_code == 0
    imported(again, tmp_path / "newer.xml", wxr([ADA]))
    assert threads(again) == {"Grace": None, "Ada": "Grace"}
