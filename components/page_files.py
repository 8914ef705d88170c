"""Which Markdown files of a Jekyll or Hugo site are pages (About, Now...) and not posts.

The rules are the generators' own, as far as a file and its path can tell:

- Jekyll makes a post of everything in `_posts` (and `_drafts`), whatever its layout.
  Elsewhere, `layout: page`, or a `permalink` on a file whose name carries no date,
  makes a page.
- Hugo has `type: page`, and treats a file directly in `content/` (or a bundle there,
  `content/about/index.md`) as a page; files in a section (`content/posts/...`) are
  the posts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

_DATED = re.compile(r"\d{4}-\d{2}-\d{2}-.+")
_POSTS_FOLDERS = frozenset({"_posts", "_drafts"})


def _says(values: Mapping[str, Any], key: str) -> str:
    value = next((v for k, v in values.items() if k.lower() == key), None)
    return value.strip().lower() if isinstance(value, str) else ""


def is_page(path: PurePath, values: Mapping[str, Any]) -> bool:
    """Whether the file at `path`, with front matter `values`, is a page."""
    if _POSTS_FOLDERS.intersection(path.parts):
        return False
    if _says(values, "layout") == "page" or _says(values, "type") == "page":
        return True
    if "content" in path.parts:
        # Below the last `content` folder: a file at its top, or a bundle there.
        inside = path.parts[len(path.parts) - path.parts[::-1].index("content") :]
        bundle = len(inside) == 2 and PurePath(inside[1]).stem.lower().startswith("index")
        return len(inside) == 1 or bundle
    permalink = any(key.lower() == "permalink" for key in values)
    return permalink and not _DATED.fullmatch(path.stem)


def own_address(slug: str, path: str) -> bool:
    """Whether `path` is only a way of writing a page's own address, /<slug>: with a
    trailing slash or Jekyll's `.html`, which the site answers with a 301 anyway."""
    return path.removesuffix(".html").rstrip("/") == f"/{slug}"


def single_segment(path: str) -> str | None:
    """The one segment of a permalink such as `/about/` or `/about.html`, else None."""
    segments = [part for part in path.removesuffix(".html").split("/") if part]
    return segments[0] if len(segments) == 1 else None
