"""A WordPress export (WXR 1.0 to 1.2, the XML that Tools → Export writes) read into plain
records: no database, no HTML conversion.

The XML is parsed with defusedxml, which refuses entity definitions and external
references, so a file built to expand a few bytes into gigabytes (billion laughs) or
to read local files is refused before it costs memory or a request. A file that breaks
part-way (truncated, not well-formed) yields the items read before the break, then the
break's line and column: each item is imported on its own, so what was read is whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from components.frontmatter import SourceError

VERSIONS = ("1.0", "1.1", "1.2")
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_NO_DATE = "0000-00-00 00:00:00"


class WxrError(SourceError):
    """A WordPress export that cannot be read (further); `line` is 1-based, or None."""


@dataclass(frozen=True)
class Author:
    login: str
    email: str
    name: str


@dataclass(frozen=True)
class Comment:
    id: int
    parent: int  # 0: none
    author: str
    email: str
    url: str
    ip: str
    date: datetime | None
    content: str
    approved: str  # "1", "0", "spam", "trash"
    type: str  # "", "comment", "pingback", "trackback"


@dataclass(frozen=True)
class Item:
    """A post, page or attachment as the export holds it."""

    id: int
    type: str
    title: str
    link: str
    creator: str
    slug: str
    status: str
    date: datetime | None  # UTC; None for a draft never dated
    modified: datetime | None
    content: str
    excerpt: str
    comment_status: str
    parent: int = 0
    attachment_url: str = ""
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)
    comments: tuple[Comment, ...] = ()


@dataclass
class Export:
    """What the channel says about the site, filled in as the file is read."""

    version: str = ""
    site_url: str = ""
    authors: dict[str, Author] = field(default_factory=dict)


def read(file: IO[bytes], export: Export) -> Iterator[Item]:
    """The items of the export in `file`, in order; `export` learns the site's facts
    (version, address, authors) as they come, before the first item.

    Raises WxrError for a file that is not a WordPress export, of a version not known,
    or that breaks; the items before the break have been yielded.
    """
    namespace = ""
    events = iterparse(file, events=("start-ns", "end"), forbid_dtd=True)
    try:
        for event, value in events:
            if event == "start-ns":
                prefix, uri = value
                if prefix == "wp":
                    namespace = "{" + uri + "}"
                continue
            element: Element = value
            if namespace and element.tag == f"{namespace}wxr_version":
                export.version = _text(element)
                if export.version not in VERSIONS:
                    raise WxrError(
                        f"WXR version {export.version!r} is not one Quire reads "
                        f"({', '.join(VERSIONS)})"
                    )
            elif namespace and element.tag == f"{namespace}base_blog_url":
                export.site_url = _text(element).rstrip("/")
            elif namespace and element.tag == f"{namespace}author":
                author = _author(element, namespace)
                export.authors[author.login] = author
            elif element.tag == "item":
                if not export.version:
                    raise WxrError("not a WordPress export: no wp:wxr_version before the posts")
                yield _item(element, namespace)
                element.clear()
    except ParseError as error:
        line, column = error.position
        raise WxrError(f"the XML breaks at line {line}, column {column + 1}", line) from None
    except DefusedXmlException as error:
        raise WxrError(f"refused: {error}") from None
    if not export.version:
        raise WxrError("not a WordPress export: it has no wp:wxr_version")


def _text(element: Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _raw(element: Element | None) -> str:
    return element.text or "" if element is not None else ""


def _int(text: str) -> int:
    # ASCII digits only ("²" is a digit to str.isdigit, not to int), and no more than a
    # WordPress id (an unsigned 64-bit number) can have: anything else is no id.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 19 else 0


def _date(text: str) -> datetime | None:
    """A `post_date_gmt` ("2023-01-05 10:00:00", UTC), or None for WordPress's zero date."""
    if not text or text == _NO_DATE:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _author(element: Element, wp: str) -> Author:
    login = _text(element.find(f"{wp}author_login"))
    name = _text(element.find(f"{wp}author_display_name")) or login
    return Author(login=login, email=_text(element.find(f"{wp}author_email")), name=name)


def _comment(element: Element, wp: str) -> Comment:
    def get(name: str) -> str:
        return _text(element.find(f"{wp}comment_{name}"))

    return Comment(
        id=_int(get("id")),
        parent=_int(get("parent")),
        author=get("author"),
        email=get("author_email"),
        url=get("author_url"),
        ip=get("author_IP"),
        date=_date(get("date_gmt")),
        content=_raw(element.find(f"{wp}comment_content")),
        approved=get("approved"),
        type=get("type"),
    )


def _item(element: Element, wp: str) -> Item:
    def get(name: str) -> str:
        return _text(element.find(f"{wp}{name}"))

    categories = tuple(
        _text(c) for c in element.findall("category") if c.get("domain") == "category"
    )
    tags = tuple(_text(c) for c in element.findall("category") if c.get("domain") == "post_tag")
    meta = {
        _text(m.find(f"{wp}meta_key")): _raw(m.find(f"{wp}meta_value"))
        for m in element.findall(f"{wp}postmeta")
    }
    return Item(
        id=_int(get("post_id")),
        type=get("post_type") or "post",
        title=_text(element.find("title")),
        link=_text(element.find("link")),
        creator=_text(element.find(f"{_DC}creator")),
        slug=get("post_name"),
        status=get("status"),
        date=_date(get("post_date_gmt")),
        modified=_date(get("post_modified_gmt")),
        content=_raw(element.find(f"{_CONTENT}encoded")),
        # The excerpt's namespace is the version's own with "excerpt/" after it.
        excerpt=_raw(element.find("{" + wp[1:-1] + "excerpt/}encoded")),
        comment_status=get("comment_status"),
        parent=_int(get("post_parent")),
        attachment_url=get("attachment_url"),
        categories=tuple(c for c in categories if c),
        tags=tuple(t for t in tags if t),
        meta=meta,
        comments=tuple(_comment(c, wp) for c in element.findall(f"{wp}comment")),
    )
