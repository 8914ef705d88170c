"""Diagrams in a post, drawn as inline SVG when it is saved: ```mermaid, ```dot and
```graphviz fences. `runner` draws them (Node, in a child process with limits), `svg`
makes the drawing safe; this module wraps one in its figure, with the source beside it
as the text alternative.
"""

from __future__ import annotations

import hashlib
import html

# A fence's language, as written, to the renderer that draws it.
KINDS = {"mermaid": "mermaid", "dot": "dot", "graphviz": "dot"}
_NAMES = {"mermaid": "Mermaid", "dot": "Graphviz"}


def kind_of(language: str) -> str | None:
    return KINDS.get(language.lower())


def prefix_for(kind: str, source: str, index: int) -> str:
    """Ids for the index-th diagram of a post: the same each time the post is rendered."""
    digest = hashlib.blake2s(f"{kind}\n{source}".encode(), digest_size=8).hexdigest()
    return f"dg{index}-{digest}"


def figure(svg: str, *, kind: str, source: str, prefix: str, title: str = "") -> str:
    """The figure a drawn diagram stands in. Its accessible name is its source, which a
    reader can also open below it, to read or copy."""
    name = _NAMES.get(kind, "")
    caption = f"<figcaption>{html.escape(title)}</figcaption>" if title else ""
    labelled = svg.replace("<svg", f'<svg role="img" aria-labelledby="{prefix}-source"', 1)
    return (
        f'<figure class="diagram">{caption}{labelled}'
        f'<details class="diagram-source"><summary>{name} source</summary>'
        f'<pre id="{prefix}-source"><code>{html.escape(source)}</code></pre>'
        "</details></figure>\n"
    )
