"""A comment's Markdown: the small subset readers may write, rendered as safe HTML, and
the links it carries, which the spam checks count (components/comments/intake)."""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt

# Emphasis, code, links, quotes and lists; no images, no headings, no raw HTML.
_RULES = ["emphasis", "backticks", "escape", "entity", "newline", "link", "autolink"]
_BLOCKS = ["fence", "code", "blockquote", "list"]
_TAGS = {"p", "br", "em", "strong", "code", "pre", "a", "blockquote", "ul", "ol", "li"}
_LINK_REL = "nofollow ugc noopener"


def _parser() -> MarkdownIt:
    md = MarkdownIt("zero", {"breaks": True, "html": False})
    md.enable(_RULES + _BLOCKS)
    return md


_MD = _parser()


def render(body: str) -> str:
    """A comment's Markdown as safe HTML: every link marked as the reader's, not ours."""
    return nh3.clean(
        _MD.render(body),
        tags=_TAGS,
        attributes={"a": {"href"}, "ol": {"start"}},
        url_schemes={"http", "https", "mailto"},
        link_rel=_LINK_REL,
    ).strip()


# An address, or a Markdown link to one written without a scheme.
_LINK = re.compile(r"https?://|www\.|mailto:|\]\((?!\s*(?:https?://|www\.|mailto:))", re.I)


def count_links(text: str) -> int:
    """Addresses in what a commenter wrote, linked or not: spam is made of them."""
    return len(_LINK.findall(text))
