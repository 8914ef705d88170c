"""Markdown to safe HTML, done once when a post is saved.

CommonMark plus tables, strikethrough, footnotes, task lists and heading anchors;
fenced code is highlighted by Pygments into CSS classes; the result is sanitised
with nh3 so that raw HTML in an author's Markdown cannot run script.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

WORDS_PER_MINUTE = 230
EXCERPT_WORDS = 40

_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "a": {"href", "hreflang", "id", "class"},
    "code": {"class"},
    "pre": {"class", "data-lang"},
    "span": {"class"},
    "div": {"class"},
    "input": {"checked", "class"},
    "li": {"id", "class"},
    "ul": {"class"},
    "ol": {"start", "class"},
    "sup": {"id", "class"},
    "section": {"class"},
    "hr": {"class"},
    **{f"h{level}": {"id"} for level in range(1, 7)},
}
_TAGS = set(nh3.ALLOWED_TAGS) | {"input", "section"}
# Only task-list checkboxes may be inputs, and they can never be ticked by a reader.
_TAG_ATTRIBUTE_VALUES = {"input": {"type": {"checkbox"}, "disabled": {"", "disabled"}}}

_FORMATTER = HtmlFormatter(nowrap=True)
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Rendered:
    html: str
    excerpt: str
    reading_minutes: int


def _highlight(code: str, lang: str, _attrs: str) -> str:
    name = lang.strip().lower()
    try:
        lexer = get_lexer_by_name(name) if name else None
    except ClassNotFound:
        lexer = None
    body = html.escape(code) if lexer is None else highlight(code, lexer, _FORMATTER)
    lang_attr = f' data-lang="{html.escape(name)}"' if name else ""
    return f'<pre class="highlight"{lang_attr}><code>{body}</code></pre>\n'


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"highlight": _highlight})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    md.use(tasklists_plugin)
    md.use(anchors_plugin, min_level=2, max_level=4)
    return md


def render(body: str) -> Rendered:
    """Render an author's Markdown to sanitised HTML, with its excerpt and reading time."""
    md = _parser()
    tokens = md.parse(body)
    raw = md.renderer.render(tokens, md.options, {})
    safe = nh3.clean(
        raw,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        tag_attribute_values=_TAG_ATTRIBUTE_VALUES,
        url_schemes={"http", "https", "mailto"},
    )
    words = len(_WORD.findall(body))
    return Rendered(
        html=safe,
        excerpt=_excerpt(tokens),
        reading_minutes=max(1, math.ceil(words / WORDS_PER_MINUTE)),
    )


def _excerpt(tokens: list[Token]) -> str:
    """The opening words of the post's prose, as plain text (code and headings skipped)."""
    words: list[str] = []
    for previous, token in pairwise(tokens):
        # Top-level paragraphs only: not list items, quotes or footnotes.
        if token.type != "inline" or previous.type != "paragraph_open" or previous.level:
            continue
        text = "".join(
            " " if child.type in {"softbreak", "hardbreak"} else child.content
            for child in token.children or []
            if child.type in {"text", "code_inline", "softbreak", "hardbreak"}
        )
        words.extend(text.split())
        if len(words) > EXCERPT_WORDS:
            return " ".join(words[:EXCERPT_WORDS]) + "…"
    return " ".join(words)
