"""A Ghost export (Settings → Advanced → Export: a JSON dump of its tables) read into
plain records: posts and pages with their tags and authors. No database here.

Ghost writes its own address in bodies and images as `__GHOST_URL__`, so that an
export can move; it is kept as written and resolved by the loader.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from components.frontmatter import SourceError

# Ghost's JSON layout has held since 1.0; 0.x exports (version "000" to "003") differ.
MAJOR_VERSIONS = range(1, 7)


class GhostError(SourceError):
    """A Ghost export that cannot be read; `line` is 1-based, or None."""


@dataclass(frozen=True)
class Author:
    email: str
    name: str


@dataclass(frozen=True)
class Post:
    id: str
    type: str  # "post" or "page"
    title: str
    slug: str
    status: str  # "published", "draft", "scheduled", "sent"
    visibility: str  # "public", "members", "paid", "tiers"
    html: str
    lexical: str
    mobiledoc: str
    excerpt: str
    feature_image: str
    feature_image_alt: str
    published_at: datetime | None
    updated_at: datetime | None
    tags: tuple[str, ...]
    authors: tuple[Author, ...]


def _text(row: dict[str, Any], key: str) -> str:
    value = row.get(key)
    return value if isinstance(value, str) else ""


def _date(value: Any) -> datetime | None:
    """Ghost's dates: ISO 8601 in UTC ("2023-01-05T10:00:00.000Z"), or "2023-01-05 10:00:00"."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _table(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    rows = data.get(name, [])
    if not isinstance(rows, list):
        raise GhostError(f"its {name!r} is not a list of rows")
    return [row for row in rows if isinstance(row, dict)]


def _data(document: Any) -> dict[str, Any]:
    """The tables, from `{"db": [{"meta": ..., "data": ...}]}` (or the inner object alone)."""
    if isinstance(document, dict) and isinstance(document.get("db"), list) and document["db"]:
        document = document["db"][0]
    if not isinstance(document, dict) or not isinstance(document.get("data"), dict):
        raise GhostError("not a Ghost export: no db[0].data with its tables")
    version = str((document.get("meta") or {}).get("version", ""))
    # Ghost 1.0 and later write their own version ("5.96.0"); 0.x wrote "000" to "003".
    major = version.split(".")[0] if "." in version else ""
    if not major.isdigit() or int(major) not in MAJOR_VERSIONS:
        raise GhostError(
            f"Ghost export version {version or 'unknown'!r} is not one Quire reads (1.x to 6.x)"
        )
    data: dict[str, Any] = document["data"]
    return data


def read(raw: bytes) -> list[Post]:
    """The posts and pages of a Ghost export (blocking: it parses the whole file)."""
    try:
        document = json.loads(raw)
    except UnicodeDecodeError:
        raise GhostError("not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise GhostError(
            f"the JSON breaks at line {error.lineno}, column {error.colno}: {error.msg}; "
            "nothing was imported from it",
            error.lineno,
        ) from None
    data = _data(document)
    tags = {
        row.get("id"): _text(row, "name")
        for row in _table(data, "tags")
        # Ghost's internal tags (#name) order and style a theme; they are not topics.
        if _text(row, "name") and not _text(row, "name").startswith("#")
    }
    users = {
        row.get("id"): Author(_text(row, "email"), _text(row, "name"))
        for row in _table(data, "users")
    }
    tagged: dict[Any, list[str]] = {}
    for row in sorted(_table(data, "posts_tags"), key=lambda r: r.get("sort_order") or 0):
        if row.get("tag_id") in tags:
            tagged.setdefault(row.get("post_id"), []).append(tags[row.get("tag_id")])
    written: dict[Any, list[Author]] = {}
    for row in sorted(_table(data, "posts_authors"), key=lambda r: r.get("sort_order") or 0):
        if row.get("author_id") in users:
            written.setdefault(row.get("post_id"), []).append(users[row.get("author_id")])
    alts = {
        row.get("post_id"): _text(row, "feature_image_alt") for row in _table(data, "posts_meta")
    }
    posts = []
    for row in _table(data, "posts"):
        key = row.get("id")
        old_author = users.get(row.get("author_id"))
        posts.append(
            Post(
                id=str(key),
                type="page"
                if row.get("type") == "page" or row.get("page") in (1, True)
                else "post",
                title=_text(row, "title"),
                slug=_text(row, "slug"),
                status=_text(row, "status"),
                visibility=_text(row, "visibility") or "public",
                html=_text(row, "html"),
                lexical=_text(row, "lexical"),
                mobiledoc=_text(row, "mobiledoc"),
                excerpt=_text(row, "custom_excerpt"),
                feature_image=_text(row, "feature_image"),
                feature_image_alt=alts.get(key, ""),
                published_at=_date(row.get("published_at")),
                updated_at=_date(row.get("updated_at")),
                tags=tuple(tagged.get(key, ())),
                authors=tuple(written.get(key, [old_author] if old_author else [])),
            )
        )
    return posts
