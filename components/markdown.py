"""Markdown to safe HTML, done once when a post is saved.

CommonMark plus tables, strikethrough, footnotes, task lists and heading anchors;
fenced code is highlighted by Pygments into CSS classes, line by line, with titles,
highlighted lines, line numbers, diffs and shell sessions (components/code_blocks.py);
the result is sanitised with nh3 so that raw HTML in an author's Markdown cannot run
script. The plain text a reader reads of it, for search, is made from that HTML here too
(components/plain_text.py), in the same worker process.

```mermaid, ```dot and ```graphviz fences become inline SVG (components/diagrams/),
held back from nh3 like the MathML below, since the SVG is made safe by its own allowlist.

`$...$` and `$$...$$` become MathML on the server. nh3 does not keep MathML, so each
formula is held back as a placeholder while nh3 cleans the rest, then put in place.
The MathML comes from latex2mathml's element tree, checked against an allowlist and
serialised by us: latex2mathml's own string output un-escapes text (`\text{<b>}`
comes out as a real `<b>`), so it cannot be trusted as is.
"""

from __future__ import annotations

import html
import math
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import pairwise
from typing import Any
from xml.etree.ElementTree import Element, tostring

import nh3
from latex2mathml.converter import convert_to_element
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererProtocol
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from components import code_blocks, diagrams, plain_text
from components.callouts import callouts_plugin
from components.diagrams import runner, svg

# Raised whenever the same Markdown renders to different HTML: every post stored with an
# older one is rendered again (components/rerender.py). 1: before code blocks had lines,
# titles and labels, callouts and heading links. 2: before diagrams were drawn and h5 and
# h6 had links. 3: before formulas carried their LaTeX as `alttext`. 4: before a code block
# was named for assistive technology (role and aria-label on its <pre>).
VERSION = 5
WORDS_PER_MINUTE = 230
# Tokens deep: a list item is two (the list and the item), a quote one.
MAX_NESTING = 100
EXCERPT_WORDS = 40

_ATTRIBUTES: dict[str, set[str]] = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    # aria-label: a heading's anchor link says which section it links to.
    "a": {"href", "hreflang", "id", "class", "aria-label"},
    "code": {"class"},
    "pre": {"class", "data-lang", "tabindex", "role", "aria-label"},
    # data-n: a code line's number, drawn by CSS so that copying the code leaves it out.
    "span": {"class", "data-n"},
    "ins": {"class", "data-n"},
    "del": {"class", "data-n"},
    "figure": {"class"},
    "details": {"class", "open"},
    "summary": {"class"},
    "p": {"class"},
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
_TAG_ATTRIBUTE_VALUES = {
    "input": {"type": {"checkbox"}, "disabled": {"", "disabled"}},
    # A callout's box (components/callouts.py), and no other role an author might write.
    "div": {"role": {"note"}},
}

# Image addresses a post may make every browser that shows it fetch (see _loads_nothing_of_ours).
# A library file is one flat name: no `/media/../admin` that a browser would resolve.
_LIBRARY_FILE = re.compile(r"/media/(?!\.\.?(?:$|[?#]))[\w.-]+")
_ELSEWHERE = ("http://", "https://", "//")

_WORD = re.compile(r"\S+")

# Private-use characters bracket each math placeholder. They are removed from the author's
# text, and any that reach the cleaned HTML some other way (an `&#xE000;` entity) are dropped.
_OPEN, _CLOSE = "\ue000", "\ue001"
_NO_MARKERS = str.maketrans("", "", _OPEN + _CLOSE)
_MATH_ENV = "quire_math"
_PROBLEMS = "quire_problems"
_DIAGRAM_BYTES = "quire_diagram_bytes"
# The drawings of one post together: beyond this they would weigh on every reader.
MAX_DIAGRAM_BYTES = 4_000_000

# Presentation MathML only: nothing that links, scripts or embeds other markup
# (no maction, semantics, annotation-xml).
_MATHML_TAGS = frozenset(
    [
        "math",
        "menclose",
        "merror",
        "mfrac",
        "mi",
        "mmultiscripts",
        "mn",
        "mo",
        "mover",
        "mpadded",
        "mphantom",
        "mprescripts",
        "mroot",
        "mrow",
        "ms",
        "mspace",
        "msqrt",
        "mstyle",
        "msub",
        "msubsup",
        "msup",
        "mtable",
        "mtd",
        "mtext",
        "mtr",
        "munder",
        "munderover",
        "none",
    ]
)
# latex2mathml also writes href (\href), style (\style) and class (\class); those are dropped.
_MATHML_ATTRIBUTES = frozenset(
    [
        "accent",
        "accentunder",
        "columnalign",
        "columnlines",
        "columnspacing",
        "depth",
        "display",
        "displaystyle",
        "fence",
        "form",
        "height",
        "largeop",
        "linebreak",
        "linethickness",
        "lspace",
        "mathbackground",
        "mathcolor",
        "mathsize",
        "mathvariant",
        "maxsize",
        "minsize",
        "movablelimits",
        "notation",
        "rowalign",
        "rowlines",
        "rowspacing",
        "rspace",
        "scriptlevel",
        "separator",
        "stretchy",
        "symmetric",
        "voffset",
        "width",
    ]
)
# Lengths, keywords and colour names; an author's \color{...} value must fit this too.
_MATHML_VALUE = re.compile(r"[\w#.,%+\- ]*", re.ASCII)
_MATHML_NS = "http://www.w3.org/1998/Math/MathML"


class TooDeep(ValueError):
    """Lists or quotes nested past what the parser follows; str() says so for the writer."""


@dataclass(frozen=True)
class Rendered:
    html: str
    # What a reader reads of the HTML, as plain text: what search indexes and quotes.
    text: str
    excerpt: str
    reading_minutes: int
    # The h2 and h3 headings, in order: {"level": 2, "id": "anchor", "text": "Heading"}.
    toc: list[dict[str, Any]] = field(default_factory=list)
    # What the writer should know and the reader never sees (a diagram that would not
    # draw shows as code): for the editor's preview.
    problems: list[str] = field(default_factory=list)


@dataclass
class _MathSlots:
    """MathML held out of the HTML until nh3 has cleaned it."""

    # Per render and never shown, so an author cannot forge a placeholder that gets filled.
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    mathml: list[str] = field(default_factory=list)

    def hold(self, mathml: str) -> str:
        self.mathml.append(mathml)
        # The quotes keep a placeholder that nh3 leaves in an attribute value (as &quot;)
        # from being filled there: only one in text is.
        return f'{_OPEN}"{self.nonce}:{len(self.mathml) - 1}"{_CLOSE}'

    def fill(self, cleaned: str) -> str:
        """Put the MathML in place of its placeholders and drop any stray marker."""
        slot = re.compile(f'{_OPEN}"{self.nonce}:(\\d+)"{_CLOSE}|[{_OPEN}{_CLOSE}]')
        return slot.sub(self._mathml_for, cleaned)

    def _mathml_for(self, match: re.Match[str]) -> str:
        index = match.group(1)
        return "" if index is None or int(index) >= len(self.mathml) else self.mathml[int(index)]


def _render_fence(
    _self: RendererProtocol, tokens: Sequence[Token], idx: int, _options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    if "diagram" in token.meta:
        return _diagram(token, env)
    return code_blocks.render(token.content, token.info)


def _draw_diagrams(tokens: list[Token]) -> None:
    """Draw every diagram fence at once (one renderer process), the result kept on its token."""
    fences = []
    for token in tokens:
        if token.type == "fence" and (kind := diagrams.kind_of(_language(token))):
            fences.append((token, kind))
    if not fences:
        return
    drawn = runner.draw([(kind, token.content) for token, kind in fences])
    for index, ((token, kind), result) in enumerate(zip(fences, drawn, strict=True)):
        token.meta["diagram"] = (index, kind, result)


def _language(token: Token) -> str:
    return code_blocks.parse_info(token.info).language


def _diagram(token: Token, env: EnvType) -> str:
    """The drawn SVG in its figure; or, when it would not draw, the source as code, and
    the renderer's message for the preview."""
    index, kind, result = token.meta["diagram"]
    problem = result.error
    if result.svg is not None:
        prefix = diagrams.prefix_for(kind, token.content, index)
        try:
            clean = svg.clean(result.svg, prefix)
        except svg.UnsafeSvg as unsafe:
            problem = str(unsafe)
        else:
            title = code_blocks.parse_info(token.info).title
            figure = diagrams.figure(
                clean, kind=kind, source=token.content, prefix=prefix, title=title
            )
            env[_DIAGRAM_BYTES] = env.get(_DIAGRAM_BYTES, 0) + len(figure)
            if env[_DIAGRAM_BYTES] <= MAX_DIAGRAM_BYTES:
                slots: _MathSlots = env[_MATH_ENV]
                return slots.hold(figure)
            problem = (
                f"the post's drawings together pass {MAX_DIAGRAM_BYTES // 1_000_000} MB; "
                "this one is shown as code"
            )
    env[_PROBLEMS].append(f"Diagram {index + 1} ({_language(token)}): {problem}")
    return code_blocks.render(token.content, token.info)


def _render_heading_close(
    _self: RendererProtocol, tokens: Sequence[Token], idx: int, _options: OptionsDict, _env: EnvType
) -> str:
    """A heading with an id (h2 to h6, as the anchors plugin gives them: the ids kramdown
    gives, so old links keep working) ends with a link to itself, to copy."""
    close = f"</{tokens[idx].tag}>\n"
    anchor = tokens[idx - 2].attrGet("id") if idx >= 2 else None
    if not anchor:
        return close
    text = _heading_text(tokens[idx - 1])
    return (
        f'<a class="heading-anchor" href="#{html.escape(str(anchor))}" '
        f'aria-label="Link to “{html.escape(text)}”">#</a>{close}'
    )


def _heading_text(inline: Token) -> str:
    content = "".join(
        child.content
        for child in inline.children or []
        if child.content and child.type != "html_inline"
    )
    return " ".join(content.translate(_NO_MARKERS).split())


@cache
def _parser() -> MarkdownIt:
    # markdown-it drops everything after a block nested past maxNesting (20 in CommonMark's
    # preset: lists ten deep). Past this higher limit render() refuses the text instead.
    md = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    md.use(tasklists_plugin)
    md.use(anchors_plugin, min_level=2, max_level=6)
    md.use(callouts_plugin)
    # No space inside the dollars and no digit just outside them (Pandoc's rule), so
    # "costs $5 and $10" stays text. No labels, and no blank lines inside $$ so a stray
    # "$$" cannot swallow the paragraphs after it.
    md.use(
        dollarmath_plugin,
        allow_space=False,
        allow_digits=False,
        allow_labels=False,
        allow_blank_lines=False,
        double_inline=True,
    )
    md.add_render_rule("fence", _render_fence)
    md.add_render_rule("heading_close", _render_heading_close)
    md.add_render_rule("math_inline", _render_math_inline)
    md.add_render_rule("math_inline_double", _render_math_inline_double)
    md.add_render_rule("math_block", _render_math_block)
    return md


def _render_math_inline(
    _self: RendererProtocol, tokens: Sequence[Token], idx: int, _options: OptionsDict, env: EnvType
) -> str:
    return _math(tokens[idx], "inline", env)


def _render_math_inline_double(
    _self: RendererProtocol, tokens: Sequence[Token], idx: int, _options: OptionsDict, env: EnvType
) -> str:
    # $$...$$ inside a paragraph: a div would break the <p>, so the scroll wrapper is a span.
    return f'<span class="math-display">{_math(tokens[idx], "block", env)}</span>'


def _render_math_block(
    _self: RendererProtocol, tokens: Sequence[Token], idx: int, _options: OptionsDict, env: EnvType
) -> str:
    return f'<div class="math-display">{_math(tokens[idx], "block", env)}</div>\n'


def _math(token: Token, display: str, env: EnvType) -> str:
    """A placeholder for the formula's MathML, or its escaped source if it is not valid LaTeX."""
    latex = token.content.strip()
    try:
        mathml = _mathml(latex, display)
    except Exception:  # latex2mathml raises many error types, and RecursionError on deep input
        source = html.escape(f"{token.markup}{latex}{token.markup}")
        return f'<code class="math-error">{source}</code>'
    slots: _MathSlots = env[_MATH_ENV]
    return slots.hold(mathml)


# Environments latex2mathml does not know, and the one it draws the same way: `aligned`
# (amsmath's align inside an equation) left its `&` in as text.
_SAME_ENVIRONMENT = re.compile(r"\\(begin|end)\{(aligned|split|alignat\*?|alignedat)\}(\{\d+\})?")


def _mathml(source: str, display: str) -> str:
    latex = _SAME_ENVIRONMENT.sub(lambda m: f"\\{m[1]}{{align*}}", source)
    root = convert_to_element(latex, display=display)
    for element in root.iter():
        _clean_mathml_element(element)
    # MathML's own text alternative: what a mail (components/newsletter) shows in place
    # of the formula, for clients that read no MathML.
    root.set("alttext", source.translate(_NO_MARKERS))
    return tostring(root, encoding="unicode", short_empty_elements=False)


def _clean_mathml_element(element: Element) -> None:
    if element.tag not in _MATHML_TAGS:
        raise ValueError(f"unexpected MathML element {element.tag!r}")
    element.attrib = {
        name: value
        for name, value in element.attrib.items()
        if (name == "xmlns" and value == _MATHML_NS)
        or (name in _MATHML_ATTRIBUTES and _MATHML_VALUE.fullmatch(value))
    }
    element.text = _mathml_text(element.text)
    element.tail = _mathml_text(element.tail)


def _mathml_text(text: str | None) -> str | None:
    # latex2mathml writes symbols as entity strings ("&#x0222B;") for its caller to un-escape.
    # Decode them to characters here; tostring() then escapes every "<" and "&" itself.
    return None if text is None else html.unescape(text).translate(_NO_MARKERS)


@dataclass(frozen=True)
class Picture:
    """What the media library knows of an image a post shows: its sizes, for srcset."""

    srcset: str
    width: int
    height: int


def render(body: str, pictures: Mapping[str, Picture] | None = None) -> Rendered:
    """Render an author's Markdown to sanitised HTML, with its excerpt and reading time.

    `pictures` maps image addresses to their responsive sizes: those images get
    srcset, sizes, width and height (no layout shift) and load lazily.
    """
    # The placeholder markers are ours; an author has no use for private-use characters.
    body = body.translate(_NO_MARKERS)
    md = _parser()
    tokens = md.parse(body)
    if any(token.level >= MAX_NESTING - 1 for token in tokens):
        raise TooDeep(
            "This text nests lists or quotes more deeply than Quire follows "
            f"({MAX_NESTING} levels, a list counting two); readers would not see what "
            "follows the deepest one."
        )
    _draw_diagrams(tokens)
    slots = _MathSlots()
    problems: list[str] = []
    raw = md.renderer.render(tokens, md.options, {_MATH_ENV: slots, _PROBLEMS: problems})
    safe = slots.fill(_sanitise(raw))
    if pictures:
        safe = _with_sizes(safe, pictures)
    words = len(_WORD.findall(body))
    return Rendered(
        html=safe,
        text=plain_text.from_html(safe),
        excerpt=_excerpt(tokens),
        reading_minutes=max(1, math.ceil(words / WORDS_PER_MINUTE)),
        toc=_toc(tokens),
        problems=problems,
    )


def _sanitise(raw: str) -> str:
    return nh3.clean(
        raw,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        tag_attribute_values=_TAG_ATTRIBUTE_VALUES,
        url_schemes={"http", "https", "mailto"},
        attribute_filter=_loads_nothing_of_ours,
    )


def _loads_nothing_of_ours(tag: str, attribute: str, value: str) -> str | None:
    """An image's address that the browser fetches by itself, without a click: kept when
    it is the media library's or on another site. Any other address on this site (`x`,
    `../admin/...`) would be fetched with the reader's cookies the moment an editor or a
    reader opens the post, a request its author chose for them: it is dropped."""
    if tag == "img" and attribute == "src":
        address = value.strip()
        if _LIBRARY_FILE.fullmatch(address) or address.lower().startswith(_ELSEWHERE):
            return value
        return None
    return value


def _toc(tokens: list[Token]) -> list[dict[str, Any]]:
    """The post's h2 and h3 headings with the anchors the anchors plugin gave them."""
    entries: list[dict[str, Any]] = []
    for opening, inline in pairwise(tokens):
        if opening.type != "heading_open" or opening.tag not in {"h2", "h3"}:
            continue
        anchor = opening.attrs.get("id")
        text = _heading_text(inline)
        if anchor and text:
            entries.append({"level": int(opening.tag[1]), "id": str(anchor), "text": text})
    return entries


# Inline math shows its LaTeX source in the excerpt, as code spans show theirs.
_EXCERPT_CHILDREN = frozenset(
    {"text", "code_inline", "math_inline", "math_inline_double", "softbreak", "hardbreak"}
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
            if child.type in _EXCERPT_CHILDREN
        )
        # Markers can still arrive as entities (&#xE000;), which markdown-it decodes.
        words.extend(text.translate(_NO_MARKERS).split())
        if len(words) > EXCERPT_WORDS:
            return " ".join(words[:EXCERPT_WORDS]) + "…"
    return " ".join(words)


# The links render() ends headings with: the page's comfort, a feed reader's clutter.
_HEADING_ANCHOR = re.compile(r'<a class="heading-anchor"[^<>]*>#</a>')


def for_feed(rendered_html: str) -> str:
    """A post's HTML as a feed carries it: without the "#" after each heading."""
    return _HEADING_ANCHOR.sub("", rendered_html)


_IMG = re.compile(r"<img\b[^>]*>")
_ALT = re.compile(r'\balt="([^"]*)"')
_SRC = re.compile(r'\bsrc="([^"]*)"')


def images_without_alt(rendered_html: str) -> list[str]:
    """The addresses of images whose alt text is missing or blank, for the editor's warning."""
    missing = []
    for tag in _IMG.findall(rendered_html):
        alt = _ALT.search(tag)
        if alt is None or not alt.group(1).strip():
            src = _SRC.search(tag)
            missing.append(html.unescape(src.group(1)) if src else "")
    return missing


_IMG_SRC = re.compile(r'<img src="([^"]*)"')


def _with_sizes(safe_html: str, pictures: Mapping[str, Picture]) -> str:
    def add(match: re.Match[str]) -> str:
        picture = pictures.get(html.unescape(match.group(1)))
        if picture is None:
            return match.group(0)
        return (
            f'{match.group(0)} srcset="{html.escape(picture.srcset)}" '
            f'sizes="(max-width: 44rem) 100vw, 42rem" width="{picture.width}" '
            f'height="{picture.height}" loading="lazy" decoding="async"'
        )

    return _IMG_SRC.sub(add, safe_html)
