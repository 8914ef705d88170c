"""Front matter kept as written: a post imported and not edited since exports with its
front matter byte for byte; an edited one changes only the keys whose values changed."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from sqlalchemy import update

from components.models import Post, Series

from .conftest import backend_url, run_async, session_on
from .portability import Blog

# Front matter as people write it: quoted and not, flow and block lists, dates with and
# without zones and times, keys Quire does not know, Hugo's YAML and TOML.
CORPUS = {
    "_posts/2023-09-29-jekyll-quoted.md": """---
layout: post
title:  "Deploying Flask: the quiet way"
description: " "
date: 2023-09-29
tags: [flask, deploy]
---

Body one.
""",
    "_posts/2023-10-01-jekyll-block.md": """---
title: Block lists, unquoted
date: 2023-10-01 14:30:00 +0200
categories:
  - python
  - notes   # a comment the writer left
comments: true
image: /assets/cover.png
---
Body two, no blank line above.
""",
    "_posts/2023-10-02-jekyll-single-quotes.markdown": """---
title: 'It''s quoted'
date: '2023-10-02T08:00:00Z'
tags: "one two three"
excerpt: >-
  Folded text
  over lines.
published: true
---

Body three.
""",
    "_drafts/a-draft.md": """---
title: A draft in _drafts
tags:
- draft
---

Not yet.
""",
    "content/posts/hugo-yaml.md": """---
title: "Hugo in YAML"
date: 2023-11-05T09:00:00-05:00
draft: false
Tags: ["go", "hugo"]
lastmod: 2023-11-06T10:00:00-05:00
params:
  math: true
---

Body four.
""",
    "content/posts/hugo-toml.md": """+++
title = "Hugo in TOML"
date = 2023-12-01T10:00:00Z
tags = ["toml", "hugo"]
aliases = ["/old/toml/"]

[params]
  author = "Sam"
+++

Body five.
""",
}


@pytest.fixture
def blog(backend: str, postgres_schema: None, tmp_path: Path) -> Blog:
    return Blog.empty(backend_url(backend, tmp_path), tmp_path)


def write_corpus(root: Path) -> None:
    for relative, text in CORPUS.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def exported_files(blog: Blog, out: Path) -> dict[str, str]:
    result = blog.quire("export", str(out))
    assert result.exit_code == 0, result.output
    return {str(path.relative_to(out)): path.read_text() for path in out.rglob("*.md")}


def head(text: str) -> str:
    return text.split("\n---\n", 1)[0] if text.startswith("---") else text.split("\n+++\n")[0]


def edit(blog: Blog, slug: str, **values: object) -> None:
    async def change() -> None:
        async with session_on(blog.url) as session:
            await session.execute(update(Post).where(Post.slug == slug).values(**values))
            await session.commit()

    run_async(change())


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++ ", "--- "))
    ]


def test_posts_not_edited_export_as_they_came_in(blog: Blog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_corpus(site)
    result = blog.quire("import", str(site))
    assert result.exit_code == 0, result.output
    files = exported_files(blog, tmp_path / "out")
    by_body = {text.rsplit("\n", 2)[-2]: text for text in files.values()}
    for original in CORPUS.values():
        last = original.rsplit("\n", 2)[-2]
        assert by_body[last] == original, last
    # And importing that export changes nothing.
    again = blog.quire("import", str(tmp_path / "out"))
    assert "0 created, 0 updated, 6 unchanged" in again.stdout


def test_an_edited_post_changes_only_the_keys_that_changed(blog: Blog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_corpus(site)
    assert blog.quire("import", str(site)).exit_code == 0
    edit(blog, "jekyll-quoted", title="Deploying Flask, again")
    edit(blog, "jekyll-block", description="Now with a description")
    edit(blog, "hugo-toml", title="TOML, edited")
    files = exported_files(blog, tmp_path / "out")

    quoted = files["_posts/2023-09-29-jekyll-quoted.md"]
    assert changed_lines(CORPUS["_posts/2023-09-29-jekyll-quoted.md"], quoted) == [
        '-title:  "Deploying Flask: the quiet way"',
        '+title: "Deploying Flask, again"',
    ]
    block = files["_posts/2023-10-01-jekyll-block.md"]
    assert changed_lines(CORPUS["_posts/2023-10-01-jekyll-block.md"], block) == [
        "+description: Now with a description"
    ]
    assert "  - notes   # a comment the writer left" in block
    toml = files["_posts/2023-12-01-hugo-toml.md"]
    assert changed_lines(CORPUS["content/posts/hugo-toml.md"], toml) == [
        '-title = "Hugo in TOML"',
        '+title = "TOML, edited"',
    ]
    # The edited files still import as the posts they are.
    again = Blog.empty(blog.url, tmp_path / "second")
    assert again.quire("import", str(tmp_path / "out")).exit_code == 0
    assert again.contents()["posts"]["jekyll-quoted"].title == "Deploying Flask, again"
    assert again.contents()["posts"]["hugo-toml"].title == "TOML, edited"


SERIES_FILES = {
    "_posts/2024-03-01-part-one.md": """---
layout: post
title: "Part one"
series: Flask from scratch
tags: [flask]
---
First part.
""",
    "content/posts/part-two.md": """---
title: Part two
date: 2024-03-02
series: ["Flask from scratch"]
---
Second part.
""",
}


def test_a_series_comes_in_and_goes_out_as_it_was_written(blog: Blog, tmp_path: Path) -> None:
    site = tmp_path / "site"
    for relative, text in SERIES_FILES.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
    assert blog.quire("import", str(site)).exit_code == 0
    posts = blog.posts()
    assert posts["part-one"].series_id == posts["part-two"].series_id is not None
    files = exported_files(blog, tmp_path / "out")
    assert sorted(files.values()) == sorted(SERIES_FILES.values())

    # Moved to another series: that key alone changes, in the form the file used.
    async def move() -> None:
        async with session_on(blog.url) as session:
            other = Series(name="Deploying", slug="deploying")
            session.add(other)
            await session.flush()
            await session.execute(
                update(Post).where(Post.series_id.is_not(None)).values(series_id=other.id)
            )
            await session.commit()

    run_async(move())
    moved = exported_files(blog, tmp_path / "moved")
    one = next(text for text in moved.values() if "First part." in text)
    two = next(text for text in moved.values() if "Second part." in text)
    assert changed_lines(SERIES_FILES["_posts/2024-03-01-part-one.md"], one) == [
        "-series: Flask from scratch",
        "+series: Deploying",
    ]
    assert changed_lines(SERIES_FILES["content/posts/part-two.md"], two) == [
        '-series: ["Flask from scratch"]',
        "+series: [Deploying]",
    ]
    # Read back, the files keep both posts in the series they were moved to.
    assert blog.quire("import", str(tmp_path / "moved")).exit_code == 0
    again = blog.quire("import", str(tmp_path / "moved"))
    assert "0 created, 0 updated, 2 unchanged" in again.stdout
    posts = blog.posts()
    assert posts["part-one"].series_id == posts["part-two"].series_id is not None
