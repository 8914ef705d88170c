"""Jekyll and Hugo pages come in as pages, and `quire export` writes them back as pages."""

from __future__ import annotations

import asyncio
from pathlib import Path, PurePath
from typing import Any

import pytest

from components import frontmatter
from components.models import PostKind

from .conftest import backend_url
from .portability import Blog


@pytest.fixture
def blog(backend: str, postgres_schema: None, tmp_path: Path) -> Blog:
    return Blog.empty(backend_url(backend, tmp_path), tmp_path)


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def kinds(blog: Blog) -> dict[str, PostKind]:
    return {slug: post.kind for slug, post in blog.contents()["posts"].items()}


@pytest.mark.parametrize(
    ("relative", "matter", "page"),
    [
        # Jekyll: a layout that says so, or a file outside _posts with its own address.
        ("about.md", "layout: page", True),
        ("about.md", "permalink: /about/", True),
        # Jekyll itself makes everything in _posts a post, whatever its layout.
        ("_posts/2024-01-02-about.md", "layout: page", False),
        ("_posts/2024-01-02-about.md", "permalink: /about/", False),
        ("_drafts/about.md", "permalink: /about/", False),
        ("notes/2024-01-02-about.md", "permalink: /2024/about/", False),
        ("about.md", "layout: post", False),
        # Hugo: a type that says so, or a file outside the posts' sections.
        ("content/about.md", "", True),
        ("content/about/index.md", "", True),
        ("content/posts/about.md", "type: page", True),
        ("content/posts/about.md", "", False),
        ("content/posts/about/index.md", "", False),
        ("content/blog/2024/about.md", "", False),
    ],
)
def test_which_files_are_pages(relative: str, matter: str, page: bool) -> None:
    text = f"---\ntitle: About\n{matter}\n---\nHi\n"
    source = frontmatter.read(text.encode(), PurePath("/home/me/site") / relative)
    assert source.page is page


def test_a_pages_address_is_its_permalink_when_that_is_one_segment() -> None:
    about = frontmatter.read(
        b"---\ntitle: About me\npermalink: /about-me/\n---\nHi\n", PurePath("site/about.md")
    )
    assert (about.slug, about.redirects) == ("about-me", ())
    deep = frontmatter.read(
        b"---\ntitle: Uses\npermalink: /stuff/uses/\n---\nHi\n", PurePath("site/uses.md")
    )
    assert (deep.slug, deep.redirects) == ("uses", ("/stuff/uses/",))
    named = frontmatter.read(
        b"---\ntitle: Now\nslug: now\npermalink: /what-now.html\n---\nHi\n",
        PurePath("site/now.md"),
    )
    assert (named.slug, named.redirects) == ("now", ("/what-now.html",))


def jekyll_site(root: Path) -> Path:
    write(root, "_posts/2024-03-01-first.md", "---\ntitle: First\n---\nA post.\n")
    write(root, "about.md", "---\ntitle: About\nlayout: page\npermalink: /about/\n---\nMe.\n")
    write(root, "now.md", "---\ntitle: Now\npermalink: /now/\npublished: false\n---\nSoon.\n")
    write(root, "content/uses.md", '+++\ntitle = "Uses"\n+++\nA laptop.\n')
    return root


def test_pages_import_as_pages_and_export_back_as_pages(blog: Blog, tmp_path: Path) -> None:
    site = jekyll_site(tmp_path / "site")
    result = blog.quire("import", str(site))
    assert result.exit_code == 0, result.output
    assert kinds(blog) == {
        "first": PostKind.POST,
        "about": PostKind.PAGE,
        "now": PostKind.PAGE,
        "uses": PostKind.PAGE,
    }
    # /about/ is the page's own address with a slash, not a former one to keep.
    assert blog.contents()["posts"]["about"].redirects == frozenset()
    before = blog.contents()

    out = tmp_path / "export"
    exported = blog.quire("export", str(out))
    assert exported.exit_code == 0, exported.output
    about = (out / "about.md").read_text()
    assert "layout: page" in about and "permalink: /about/" in about
    assert (out / "now.md").exists() and (out / "uses.md").exists()
    assert "published: false" in (out / "now.md").read_text()
    assert not (out / "_posts" / "about.md").exists()

    again = Blog.empty(blog.url, tmp_path / "second")
    assert again.quire("import", str(out)).exit_code == 0
    assert again.contents() == before
    assert "0 created, 0 updated, 4 unchanged" in again.quire("import", str(out)).stdout


def test_a_page_that_would_take_a_site_address_is_skipped_by_name(
    blog: Blog, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    tags = write(site, "tags.md", "---\ntitle: Tags\nlayout: page\npermalink: /tags/\n---\nx\n")
    write(site, "about.md", "---\ntitle: About\nlayout: page\n---\nMe.\n")
    result = blog.quire("import", str(site))
    assert result.exit_code == 1
    assert f"{tags}: its address /tags is the site's own" in result.stderr
    assert "give it another 'slug:'" in result.stderr
    assert kinds(blog) == {"about": PostKind.PAGE}


def test_a_page_and_a_post_never_swap_kinds_on_import(blog: Blog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    write(site, "_posts/2024-01-01-about.md", "---\ntitle: About\n---\nA post.\n")
    assert blog.quire("import", str(site)).exit_code == 0
    other = tmp_path / "other"
    page = write(other, "about.md", "---\ntitle: About\nlayout: page\n---\nA page.\n")
    result = blog.quire("import", str(other))
    assert result.exit_code == 1
    assert f"{page}: the blog's 'about' is a post and this file is a page" in result.stderr
    kept = blog.contents()["posts"]["about"]
    assert (kept.kind, kept.body) == (PostKind.POST, "A post.\n")


async def test_an_imported_page_answers_at_its_address_and_its_old_ones(
    client: Any, database_url: str, tmp_path: Path
) -> None:
    blog = Blog.migrated(database_url, tmp_path)
    site = jekyll_site(tmp_path / "site")
    write(site, "setup.md", "---\ntitle: Setup\npermalink: /stuff/setup/\n---\nDesk.\n")
    result = await asyncio.to_thread(blog.quire, "import", str(site))
    assert result.exit_code == 0, result.output
    assert (await client.get("/about")).status_code == 200
    for old, new in (("/about/", "/about"), ("/about.html", "/about"), ("/stuff/setup/", "/setup")):
        moved = await client.get(old)
        assert moved.status_code == 301, old
        assert moved.location.endswith(new), old
    home = await (await client.get("/")).get_data(as_text=True)
    assert "First" in home and "About" not in home.split("<main")[1]
    assert (await client.get("/now")).status_code == 404  # a draft page


def test_template_tags_become_markdown_and_the_rest_are_named(blog: Blog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    post = write(
        site,
        "_posts/2024-02-02-tags.md",
        "---\ntitle: Tags\n---\n\n{% highlight python %}\nprint(1)\n{% endhighlight %}\n\n"
        "See [the first]({% post_url 2024-01-01-first %}).\n\n{% include note.html %}\n",
    )
    result = blog.quire("import", str(site))
    assert result.exit_code == 0, result.output
    body = blog.contents()["posts"]["tags"].body
    assert body.startswith("```python\nprint(1)\n```\n")
    assert "[the first](/2024/01/01/first)" in body and "{% include note.html %}" in body
    assert f"{post}: line 11: {{% include note.html %}} left as it was" in result.stderr
