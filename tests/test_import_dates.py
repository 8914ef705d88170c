"""An imported post keeps the times its file gives: feeds and search engines must not
take a post from 2023 for one changed today."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import select

from components import frontmatter
from components.models import Post

from .conftest import session_on
from .portability import Blog


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def updated(url: str) -> dict[str, datetime]:
    async with session_on(url) as session:
        rows = await session.execute(select(Post.slug, Post.updated_at))
        return {slug: when for slug, when in rows}


def test_the_modified_keys_are_read_in_order_and_a_bad_one_is_told() -> None:
    def read(matter: str) -> frontmatter.Source:
        text = f"---\ntitle: T\ndate: 2023-01-01\n{matter}\n---\nx\n"
        return frontmatter.read(text.encode(), PurePath("_posts/2023-01-01-t.md"))

    assert read("lastmod: 2024-02-03").modified == datetime(2024, 2, 3, tzinfo=UTC)
    both = read("updated: 2020-01-01\nlast_modified_at: 2024-05-06 10:00:00 +0200")
    assert both.modified == datetime(2024, 5, 6, 8, tzinfo=UTC)
    assert read("").modified is None
    bad = read("lastmod: soon")
    assert bad.modified is None
    assert bad.warnings == (
        "line 4: lastmod not read: 'date' 'soon' is not a date like "
        "2023-09-29 or 2023-09-29 14:30:00 +0200",
    )


async def test_imported_posts_keep_their_files_times_and_a_second_import_moves_nothing(
    client: Any, database_url: str, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    write(site, "_posts/2023-09-29-plain.md", "---\ntitle: Plain\n---\nOld.\n")
    write(
        site,
        "_posts/2023-09-30-edited.md",
        "---\ntitle: Edited\nlast_modified_at: 2024-01-15 12:00:00 +0000\n---\nNewer.\n",
    )
    blog = Blog.migrated(database_url, tmp_path)
    result = await asyncio.to_thread(blog.quire, "import", str(site))
    assert result.exit_code == 0, result.output
    first = await updated(database_url)
    assert first == {
        "plain": datetime(2023, 9, 29, tzinfo=UTC),
        "edited": datetime(2024, 1, 15, 12, tzinfo=UTC),
    }

    post = await (await client.get("/2023/09/30/edited")).get_data(as_text=True)
    assert '<meta property="article:modified_time" content="2024-01-15T12:00:00' in post
    assert '"dateModified": "2024-01-15T12:00:00' in post.replace('":"', '": "')
    feed = await (await client.get("/feed.xml")).get_data(as_text=True)
    assert "<updated>2024-01-15T12:00:00" in feed and "<updated>2023-09-29T00:00:00" in feed
    sitemap = await (await client.get("/sitemap.xml")).get_data(as_text=True)
    assert "<lastmod>2023-09-29T00:00:00" in sitemap

    again = await asyncio.to_thread(blog.quire, "import", str(site))
    assert "0 created, 0 updated, 2 unchanged" in again.stdout
    assert await updated(database_url) == first

    # A file changed since, without a date of its own, changed now.
    write(site, "_posts/2023-09-29-plain.md", "---\ntitle: Plain\n---\nOld, then new.\n")
    before = datetime.now(UTC)
    await asyncio.to_thread(blog.quire, "import", str(site))
    assert (await updated(database_url))["plain"] >= before.replace(microsecond=0)
