"""A post's plain text: the words a reader reads of its HTML, for the search index.

Made once, when the post is rendered (components/markdown.render, in the render worker),
and stored beside the HTML (Post.body_text): the full-text index is built over it and
search snippets are cut from it, so neither ever shows Markdown (```` ```python ````,
`## Heading`, `![alt](file.png)`, `[^1]`) or the URLs and syntax around the words.

What each part of a post gives:

- prose, lists, quotes, tables, callouts (with their title): their words;
- headings: their words, without the `#` link after them;
- links: their text, not their address; images: their alt text;
- code: its text, line by line, without a shell session's prompts, a diff's `+`/`-`,
  the language label above it (a block's title stays) or its line numbers (drawn by CSS);
- formulas: their symbols, spaced (`E = m c 2`), not their LaTeX;
- diagrams: the words drawn in them and their title, not their source;
- footnotes: their text at the end, without the `[1]` markers or the `↩︎` links back.

Whitespace is collapsed to single spaces. Tags that the sanitiser let through from an
author's raw HTML (`<kbd>`, `<span>`) give their text like any other.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements that hold no text of their own (the parser sees no end tag for them).
_VOID = frozenset(
    {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)
# Elements whose start and end separate words, as a line break would (a drawing's labels
# are each a `text` of their own, or lines of one in `tspan`s).
_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "caption",
        "dd",
        "details",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "svg",
        "table",
        "td",
        "text",
        "th",
        "tr",
        "tspan",
        "ul",
    }
)
# Elements left out with everything in them, whatever their class.
_NEVER_READ = frozenset({"script", "style", "template", "title", "desc"})
# (element, class) pairs left out with everything in them: the marks Quire adds around
# the words, which a reader does not read as text.
_MARKS = frozenset(
    {
        ("a", "heading-anchor"),  # the "#" after a heading
        ("sup", "footnote-ref"),  # "[1]"
        ("a", "footnote-backref"),  # "↩︎"
        ("span", "code-lang"),  # "Python" above a code block
        ("span", "gp"),  # a shell session's prompt, "$ " or ">>> "
        ("details", "diagram-source"),  # a diagram's Mermaid or Graphviz source
    }
)
_DIFF_LINES = frozenset({"ins", "del"})
# Pygments' spans around each token of code: flat (no tag inside), so unwrapped at once
# before parsing, which then has a fifth of the tags to read. A prompt goes with its span.
_TOKEN = re.compile(r'<span class="([a-z0-9]{1,4})">([^<]*)</span>')
_WHITESPACE = re.compile(r"\s+")


def from_html(html: str) -> str:
    """The plain text of a post's rendered HTML (see the module's docstring)."""
    reader = _Reader()
    reader.feed(_TOKEN.sub(_token_text, html))
    reader.close()
    return _WHITESPACE.sub(" ", "".join(reader.parts)).strip()


def _token_text(token: re.Match[str]) -> str:
    return "" if token[1] == "gp" else token[2]


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        # The open elements, each with whether it is left out.
        self._open: list[tuple[str, bool]] = []
        self._skipped = 0  # how many of the open elements are left out
        self._in_math = 0
        # The next text starts a diff's line: its "+" or "-" is dropped.
        self._line_start = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            self._void(tag, attrs)
            return
        classes = set((dict(attrs).get("class") or "").split())
        left_out = tag in _NEVER_READ or any((tag, name) in _MARKS for name in classes)
        self._open.append((tag, left_out))
        self._skipped += left_out
        if tag == "math":
            self._in_math += 1
        if self._in_math or tag in _BLOCKS:
            self.parts.append(" ")
        if tag in _DIFF_LINES and "line" in classes:
            self._line_start = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <path/> and the like in a drawing: nothing is opened.
        if tag in _VOID:
            self._void(tag, attrs)
        elif self._in_math:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not any(name == tag for name, _ in self._open):
            return  # a stray end tag: nothing to close
        while self._open:
            name, left_out = self._open.pop()
            self._skipped -= left_out
            if name == "math":
                self._in_math -= 1
            if name == tag:
                break
        if tag in _DIFF_LINES:
            self._line_start = False
        if self._in_math or tag in _BLOCKS or tag == "math":
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if self._skipped:
            return
        if self._line_start and data:
            self._line_start = False
            if data[0] in "+-":
                data = data[1:]
        self.parts.append(data)

    def _void(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipped:
            return
        if tag == "img":
            alt = dict(attrs).get("alt") or ""
            self.parts.append(f" {alt} " if alt.strip() else " ")
        elif tag in _BLOCKS:
            self.parts.append(" ")
