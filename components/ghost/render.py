"""A Ghost post's body as HTML from its editor's JSON, for the exports that carry no
`html`: Lexical (Ghost 5 and later) or mobiledoc (Ghost 1 to 4).

Only what a post's text needs is drawn: paragraphs, headings, lists, quotes, links,
bold, italic and inline code, code blocks, images, Markdown and HTML cards, rules.
Every other card is named in `left`, and nothing is fetched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from typing import Any

# Lexical's text format bits, and the tags that draw them.
_FORMATS = ((1, "strong"), (2, "em"), (4, "s"), (16, "code"))
_MOBILEDOC_MARKUPS = frozenset({"a", "b", "strong", "em", "i", "code", "s", "u", "sub", "sup"})


@dataclass
class Drawn:
    html: str = ""
    markdown_cards: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


def _attribute(value: Any) -> str:
    return escape(str(value or ""), quote=True)


def _image(src: Any, alt: Any, caption: Any) -> str:
    figure = f'<p><img src="{_attribute(src)}" alt="{_attribute(alt)}"></p>'
    # A caption is Ghost's own HTML (links, emphasis): the Markdown converter reads it.
    return figure + (f"<p><em>{caption}</em></p>" if caption else "")


def _code(code: Any, language: Any) -> str:
    lang = f' class="language-{_attribute(language)}"' if language else ""
    return f"<pre><code{lang}>{escape(str(code or ''))}</code></pre>"


def _card(name: str, payload: dict[str, Any], drawn: Drawn) -> str:
    """A card both editors share by name."""
    if name == "markdown":
        drawn.markdown_cards.append(str(payload.get("markdown", "")))
        return f"<p>QUIREMARKDOWN{len(drawn.markdown_cards) - 1}X</p>"
    if name == "image":
        return _image(payload.get("src"), payload.get("alt"), payload.get("caption"))
    if name in ("code", "codeblock"):
        return _code(payload.get("code"), payload.get("language"))
    if name == "html":
        return str(payload.get("html", ""))
    if name in ("hr", "horizontalrule"):
        return "<hr>"
    if name in ("bookmark", "embed") and payload.get("url"):
        url = _attribute(payload["url"])
        title = escape(str((payload.get("metadata") or {}).get("title") or payload["url"]))
        return f'<p><a href="{url}">{title}</a></p>'
    drawn.left.append(f"a {name} card left out")
    return ""


# --- Lexical ------------------------------------------------------------------


def _lexical_children(node: dict[str, Any], drawn: Drawn) -> str:
    return "".join(_lexical(child, drawn) for child in node.get("children") or [])


def _lexical(node: dict[str, Any], drawn: Drawn) -> str:
    kind = node.get("type", "")
    if kind in ("text", "extended-text"):
        text = escape(str(node.get("text", "")))
        for bit, tag in _FORMATS:
            if int(node.get("format") or 0) & bit:
                text = f"<{tag}>{text}</{tag}>"
        return text
    if kind == "linebreak":
        return "<br>"
    if kind in ("link", "autolink"):
        return f'<a href="{_attribute(node.get("url"))}">{_lexical_children(node, drawn)}</a>'
    inner = _lexical_children(node, drawn)
    if kind in ("root",):
        return inner
    if kind in ("paragraph", "extended-paragraph"):
        return f"<p>{inner}</p>"
    if kind in ("heading", "extended-heading"):
        tag = str(node.get("tag", "h2"))
        tag = tag if tag in {"h1", "h2", "h3", "h4", "h5", "h6"} else "h2"
        return f"<{tag}>{inner}</{tag}>"
    if kind in ("quote", "aside"):
        return f"<blockquote>{inner}</blockquote>"
    if kind == "list":
        tag = "ol" if node.get("listType") == "number" else "ul"
        return f"<{tag}>{inner}</{tag}>"
    if kind == "listitem":
        return f"<li>{inner}</li>"
    return _card(kind, node, drawn)


# --- mobiledoc ----------------------------------------------------------------


def _markers(markers: list[Any], markups: list[Any]) -> str:
    out, open_tags = [], []
    for marker in markers:
        if not isinstance(marker, list) or len(marker) < 4:
            continue
        kind, opened, closed, value = marker[:4]
        for index in opened or []:
            tag, attributes = (markups[index] + [[]])[:2] if index < len(markups) else ("", [])
            tag = tag if tag in _MOBILEDOC_MARKUPS else "span"
            pairs = dict(zip(attributes[::2], attributes[1::2], strict=False))
            href = f' href="{_attribute(pairs.get("href"))}"' if tag == "a" else ""
            out.append(f"<{tag}{href}>")
            open_tags.append(tag)
        out.append(escape(str(value)) if kind == 0 else "")
        for _ in range(min(int(closed or 0), len(open_tags))):
            out.append(f"</{open_tags.pop()}>")
    out.extend(f"</{tag}>" for tag in reversed(open_tags))
    return "".join(out)


def _mobiledoc(document: dict[str, Any], drawn: Drawn) -> str:
    markups = document.get("markups") or []
    cards = document.get("cards") or []
    out = []
    for section in document.get("sections") or []:
        kind = section[0] if section else None
        if kind == 1:
            tag = (
                section[1]
                if section[1] in {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
                else "p"
            )
            out.append(f"<{tag}>{_markers(section[2], markups)}</{tag}>")
        elif kind == 3:
            tag = "ol" if section[1] == "ol" else "ul"
            items = "".join(f"<li>{_markers(item, markups)}</li>" for item in section[2])
            out.append(f"<{tag}>{items}</{tag}>")
        elif kind == 2:
            out.append(_image(section[1], "", ""))
        elif kind == 10 and section[1] < len(cards):
            name, payload = (cards[section[1]] + [{}])[:2]
            out.append(_card(str(name), payload if isinstance(payload, dict) else {}, drawn))
    return "".join(out)


def draw(lexical: str, mobiledoc: str) -> Drawn:
    """The HTML of a body kept as Lexical, else as mobiledoc; Markdown cards stand as
    QUIREMARKDOWN<n>X paragraphs, their text in `markdown_cards`, to be put back as written."""
    drawn = Drawn()
    for text, render in ((lexical, _lexical_root), (mobiledoc, _mobiledoc)):
        if not text:
            continue
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            drawn.left.append("a body that is not JSON left out")
            continue
        if isinstance(document, dict):
            drawn.html = render(document, drawn)
            return drawn
    return drawn


def _lexical_root(document: dict[str, Any], drawn: Drawn) -> str:
    return _lexical(document.get("root") or {}, drawn)
