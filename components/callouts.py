"""Callouts: GitHub's alerts and MkDocs' admonitions, as one kind of box.

    > [!NOTE]                      !!! note "A title"          ??? warning
    > Useful to know.                  Indented text.              Folded until opened.

Each becomes a box with its kind's icon (drawn by CSS) and a title: a `role="note"`
division whose title is its first line, or, for MkDocs' `???` (`???+`: open at first),
a `<details>` whose summary is the title, which needs no script to open.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererProtocol
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.admon import admon_plugin

# GitHub's five; MkDocs' own names fold into them, and any other kind is a note.
KINDS = {
    "note": "Note",
    "tip": "Tip",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
}
_SAME_AS = {
    "info": "note", "abstract": "note", "summary": "note", "tldr": "note", "todo": "note",
    "example": "note", "quote": "note", "cite": "note", "success": "tip", "check": "tip",
    "done": "tip", "hint": "tip", "question": "important", "help": "important",
    "faq": "important", "attention": "warning", "failure": "caution", "fail": "caution",
    "missing": "caution", "danger": "caution", "error": "caution", "bug": "caution",
}  # fmt: skip
_ALERT = re.compile(r"\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\][ \t]*(?:\n|$)", re.IGNORECASE)
CALLOUT = "callout"


def callouts_plugin(md: MarkdownIt) -> None:
    md.use(admon_plugin)
    md.core.ruler.after("block", "github_alerts", _github_alerts)
    md.add_render_rule("blockquote_open", _blockquote_open)
    md.add_render_rule("blockquote_close", _blockquote_close)
    md.add_render_rule("admonition_open", _admonition_open)
    md.add_render_rule("admonition_close", _admonition_close)
    md.add_render_rule("admonition_title_open", _title_open)
    md.add_render_rule("admonition_title_close", _title_close)


def kind_of(name: str) -> str:
    name = name.lower()
    return name if name in KINDS else _SAME_AS.get(name, "note")


def _github_alerts(state: StateCore) -> None:
    """A blockquote whose first line is `[!KIND]` becomes a callout of that kind."""
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type != "blockquote_open" or index + 2 >= len(tokens):
            continue
        paragraph, inline = tokens[index + 1], tokens[index + 2]
        if paragraph.type != "paragraph_open" or inline.type != "inline":
            continue
        match = _ALERT.match(inline.content)
        if match is None:
            continue
        kind = match[1].lower()
        token.meta[CALLOUT] = kind
        _closing(tokens, index).meta[CALLOUT] = kind
        inline.content = inline.content[match.end() :]
        if not inline.content.strip():
            # The marker was the paragraph: no empty <p> is left behind.
            paragraph.hidden = tokens[index + 3].hidden = True
            inline.content = ""


def _closing(tokens: list[Token], index: int) -> Token:
    depth = 0
    for token in tokens[index:]:
        depth += token.nesting if token.type.startswith("blockquote") else 0
        if depth == 0:
            return token
    raise ValueError("a blockquote that is never closed")  # markdown-it always closes them


def _box(kind: str, title: str) -> str:
    return (
        f'<div class="callout callout-{kind}" role="note">\n'
        f'<p class="callout-title">{html.escape(title)}</p>\n'
    )


def _blockquote_open(
    self: RendererProtocol, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    kind = tokens[idx].meta.get(CALLOUT)
    if kind is None:
        return "<blockquote>\n"
    return _box(kind, KINDS[kind])


def _blockquote_close(
    self: RendererProtocol, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return "</div>\n" if tokens[idx].meta.get(CALLOUT) else "</blockquote>\n"


def _admonition_open(
    self: RendererProtocol, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    kind = kind_of(str(token.meta.get("tag", "note")))
    if token.markup.startswith("???"):
        opened = " open" if token.markup == "???+" else ""
        return f'<details class="callout callout-{kind}"{opened}>\n'
    return f'<div class="callout callout-{kind}" role="note">\n'


def _admonition_close(
    self: RendererProtocol, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    return "</details>\n" if tokens[idx].markup.startswith("???") else "</div>\n"


def _title_open(
    self: RendererProtocol, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    folded = tokens[idx].markup.startswith("???")
    return '<summary class="callout-title">' if folded else '<p class="callout-title">'


def _title_close(
    self: RendererProtocol, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # The title's close token carries no markup: look back to its open token.
    for token in reversed(tokens[:idx]):
        if token.type == "admonition_title_open":
            return "</summary>\n" if token.markup.startswith("???") else "</p>\n"
    return "</p>\n"
