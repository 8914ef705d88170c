"""A renderer's SVG made safe and fit to stand inline in a post.

The SVG is rebuilt from an allowlist rather than filtered: only drawing elements and
presentation attributes survive. Nothing can run (no script, no event handler, no
`<foreignObject>`), nothing is fetched (no `href`, no `<image>`, no `<style>` with its
`@import`, no `url()` but to a gradient or marker of the same drawing), and no
`style` attribute is left for the strict CSP to refuse: a `style`'s declarations that
are presentation attributes become attributes. Ids get a prefix so that two diagrams
on one page never share one.

Colours are made to follow the page's scheme: Graphviz draws in black on a white sheet,
which becomes `currentColor` on no sheet; beautiful-mermaid's CSS variables are defined
by static/css/quire.css in light and dark.
"""

from __future__ import annotations

import html
import re
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

MAX_BYTES = 1_000_000
MAX_ELEMENTS = 20_000
MAX_DEPTH = 100

_SVG_NS = "{http://www.w3.org/2000/svg}"
# Elements kept with their content; `a` is unwrapped (its children kept, its link not).
_ELEMENTS = frozenset(
    {
        "svg",
        "g",
        "defs",
        "title",
        "desc",
        "path",
        "rect",
        "circle",
        "ellipse",
        "line",
        "polyline",
        "polygon",
        "text",
        "tspan",
        "marker",
        "linearGradient",
        "radialGradient",
        "stop",
        "clipPath",
    }
)
_UNWRAPPED = frozenset({"a"})
_TEXT = frozenset({"text", "tspan", "title", "desc"})
# Kept as written when the value passes _VALUE: geometry and presentation only.
_ATTRIBUTES = frozenset(
    {
        "viewBox",
        "preserveAspectRatio",
        "width",
        "height",
        "x",
        "y",
        "x1",
        "y1",
        "x2",
        "y2",
        "cx",
        "cy",
        "r",
        "rx",
        "ry",
        "fx",
        "fy",
        "d",
        "points",
        "transform",
        "dx",
        "dy",
        "rotate",
        "textLength",
        "lengthAdjust",
        "fill",
        "fill-opacity",
        "fill-rule",
        "stroke",
        "stroke-width",
        "stroke-opacity",
        "stroke-dasharray",
        "stroke-dashoffset",
        "stroke-linecap",
        "stroke-linejoin",
        "stroke-miterlimit",
        "opacity",
        "font-size",
        "font-weight",
        "font-style",
        "text-anchor",
        "dominant-baseline",
        "alignment-baseline",
        "baseline-shift",
        "text-decoration",
        "letter-spacing",
        "marker-start",
        "marker-mid",
        "marker-end",
        "markerWidth",
        "markerHeight",
        "markerUnits",
        "refX",
        "refY",
        "orient",
        "offset",
        "stop-color",
        "stop-opacity",
        "gradientUnits",
        "gradientTransform",
        "clipPathUnits",
        "clip-path",
    }
)
# Classes the stylesheet draws (xychart series and parts, monospace members); others are
# dropped, so that a diagram's "node" or "note" never picks up a rule of the page's.
_CLASS = re.compile(r"mono|xychart(?:-[a-z]+)+(?:-\d{1,2})?")
# Numbers, words, lists, colours, transforms and CSS variables; no quotes, no brackets,
# no backslash or at-sign, no url() (handled apart), so nothing that reaches outside.
_VALUE = re.compile(r"[\w\s.,#%+\-()]*", re.ASCII)
_VARIABLE = re.compile(r"var\(--[\w-]+(?:,\s*[\w#.%\s-]+)?\)", re.ASCII)
# The functions a value may call: transforms and colours.
_FUNCTION = re.compile(r"([\w-]*)\s*\(", re.ASCII)
_FUNCTIONS = frozenset(
    {"matrix", "translate", "scale", "rotate", "skewx", "skewy", "rgb", "rgba", "hsl", "hsla"}
)
_LOCAL_URL = re.compile(r"url\(\s*#([\w.-]+)\s*\)", re.ASCII)
_ID = re.compile(r"[\w.-]{1,100}", re.ASCII)
_BLACK = frozenset({"black", "#000000", "#000"})
_WHITE = frozenset({"white", "#ffffff", "#fff"})


class UnsafeSvg(ValueError):
    """The renderer's output cannot be shown (not SVG, or far too big)."""


def clean(svg: str, prefix: str) -> str:
    """`svg` rebuilt from the allowlist, as markup for an HTML page; ids start with `prefix`."""
    if len(svg) > MAX_BYTES:
        raise UnsafeSvg("the drawing is too large to show")
    # The DOCTYPE Graphviz writes names no entities; defusedxml refuses any that would.
    text = re.sub(r"<!DOCTYPE[^>\[]*>", "", svg, count=1)
    try:
        root = ElementTree.fromstring(text, forbid_dtd=True)
    except Exception as error:  # ParseError and defusedxml's refusals alike
        raise UnsafeSvg(f"the renderer's SVG could not be read: {error}") from None
    if root.tag != f"{_SVG_NS}svg":
        raise UnsafeSvg("the renderer's output is not SVG")
    elements = list(root.iter())
    if len(elements) > MAX_ELEMENTS:
        raise UnsafeSvg("the drawing has too many parts to show")
    if _depth(root) > MAX_DEPTH:
        raise UnsafeSvg(f"the drawing nests its parts more than {MAX_DEPTH} deep")
    # Only the ids something points at (a marker, a gradient): the rest are only weight.
    wanted = {
        name for e in elements for value in e.attrib.values() for name in _LOCAL_URL.findall(value)
    }
    ids = {
        element.get("id", ""): f"{prefix}-{element.get('id')}"
        for element in elements
        if element.get("id", "") in wanted and _ID.fullmatch(element.get("id", ""))
    }
    out: list[str] = []
    _write(root, out, ids, sheet=_is_graphviz(root), in_text=False)
    return "".join(out)


def _depth(root: Element) -> int:
    deepest, below = 0, [(root, 1)]
    while below:
        element, depth = below.pop()
        deepest = max(deepest, depth)
        below.extend((child, depth + 1) for child in element)
    return deepest


def _is_graphviz(root: Element) -> bool:
    first = root.find(f"{_SVG_NS}g")
    return first is not None and "graph" in first.get("class", "").split()


def _write(
    element: Element, out: list[str], ids: dict[str, str], *, sheet: bool, in_text: bool
) -> None:
    tag = element.tag.removeprefix(_SVG_NS)
    inside_text = tag in _TEXT
    # Line breaks between drawing elements are only weight; inside text they are spaces.
    tail = element.tail if in_text else (element.tail or "").strip()
    if tag in _ELEMENTS:
        attributes = _attributes(element, ids, root=tag == "svg")
        if sheet and tag == "polygon" and element.get("fill", "").lower() in _WHITE:
            # Graphviz's white sheet behind the graph: the page's own background shows.
            attributes["fill"] = "none"
        out.append(f"<{tag}")
        out.extend(f' {name}="{html.escape(value)}"' for name, value in attributes.items())
        out.append(">")
    elif tag not in _UNWRAPPED:
        # Dropped with everything inside it: script, style, foreignObject, image, use...
        out.append(html.escape(tail or "", quote=False))
        return
    text = element.text if inside_text or in_text else (element.text or "").strip()
    out.append(html.escape(text or "", quote=False))
    for child in element:
        _write(child, out, ids, sheet=sheet, in_text=inside_text or in_text)
    if tag in _ELEMENTS:
        out.append(f"</{tag}>")
    out.append(html.escape(tail or "", quote=False))


def _attributes(element: Element, ids: dict[str, str], *, root: bool) -> dict[str, str]:
    written = dict(element.attrib)
    declared = _declarations(written.pop("style", ""))
    kept: dict[str, str] = {}
    for name, value in [*declared.items(), *written.items()]:
        if name == "id":
            if value in ids:
                kept["id"] = ids[value]
        elif name == "class":
            classes = [word for word in value.split() if _CLASS.fullmatch(word)]
            if classes:
                kept["class"] = " ".join(classes)
        elif name in _ATTRIBUTES and (safe := _value(value, ids)) is not None:
            kept[name] = _scheme_colour(name, safe)
    if root:
        kept.pop("x", None)
        kept.pop("y", None)
    return kept


def _declarations(style: str) -> dict[str, str]:
    pairs = (part.partition(":") for part in style.split(";"))
    return {name.strip(): value.strip() for name, colon, value in pairs if colon and name.strip()}


def _value(value: str, ids: dict[str, str]) -> str | None:
    """The value if it is inert, with references to the drawing's ids prefixed; else None."""
    value = value.strip()
    if len(value) > 100_000:
        return None
    if (local := _LOCAL_URL.fullmatch(value)) is not None:
        target = ids.get(local.group(1))
        return f"url(#{target})" if target else None
    plain = _VARIABLE.sub("", value)
    if not _VALUE.fullmatch(plain) or "url" in value.lower():
        return None
    if any(name.lower() not in _FUNCTIONS for name in _FUNCTION.findall(plain)):
        return None
    return value


def _scheme_colour(name: str, value: str) -> str:
    if name in {"fill", "stroke", "stop-color"} and value.lower() in _BLACK:
        return "currentColor"
    return value
