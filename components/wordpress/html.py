"""A WordPress post's HTML as Markdown, with what could not be converted kept and named.

markdownify does the conversion: it is MIT-licensed (html2text, the other common
choice, is GPL), kept up, and lets us name a code block's language from the markup
WordPress and its highlighter plugins write. Around it:

- classic-editor posts are stored without <p>: WordPress adds paragraphs when it shows
  them (wpautop), so blank lines become paragraphs here first;
- `[code]` and `[sourcecode]` (the syntax highlighter shortcodes most technical
  WordPress blogs used) become fenced code blocks;
- other shortcodes, `wp:html` blocks, embeds and scripts stay exactly as written (raw
  HTML in the Markdown, sanitised when shown), and each is named in `left`, as are
  dynamic blocks (latest posts, archives...) that WordPress drew at request time.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from markdownify import MarkdownConverter

_HIGHLIGHTER = re.compile(
    r"\[(?P<name>code|sourcecode)(?P<args>[^\]\n]*)\](?P<code>.*?)\[/(?P=name)\]", re.S
)
_LANGUAGE_ARG = re.compile(r"""\b(?:lang|language)\s*=\s*["']?(?P<lang>[\w+#-]+)""")
# A shortcode: one WordPress itself or its common plugins register, or any that closes
# like one ([name ...]...[/name]); prose in brackets ([sic]) is neither.
_SHORTCODE = re.compile(
    r"\[(?P<name>[a-z][\w-]*)(?P<args>\s[^\]\n]*)?/?\](?:(?P<inner>.*?)\[/(?P=name)\])?", re.S
)
_KNOWN_SHORTCODES = frozenset(
    {
        "gallery",
        "audio",
        "video",
        "playlist",
        "embed",
        "caption",
        "wp_caption",
        "youtube",
        "vimeo",
        "gist",
        "tweet",
        "contact-form",
        "contact-form-7",
        "latexpage",
        "latex",
    }
)
_CAPTION = re.compile(
    r"\[(?:wp_)?caption\b[^\]]*\](?P<image>.*?<img\b[^>]*>(?:\s*</a>)?)(?P<text>.*?)\[/(?:wp_)?caption\]",
    re.S | re.I,
)
_EMBED = re.compile(r"\[embed\b[^\]]*\](?P<url>https?://[^\s\[]+)\[/embed\]", re.I)
_HTML_BLOCK = re.compile(r"<!-- wp:html -->(?P<html>.*?)<!-- /wp:html -->", re.S)
_RAW = re.compile(
    r"<(?P<tag>iframe|script|object|embed|form|video|audio)\b.*?(?:</(?P=tag)>|/>)", re.S | re.I
)
_DYNAMIC = re.compile(r"<!-- wp:(?P<name>[a-z][\w/-]*)(?:\s+\{[^\n]*?\})?\s*/-->")
# Self-closing blocks that draw nothing worth keeping.
_SILENT = frozenset({"more", "nextpage", "spacer", "separator"})
_PRE = re.compile(r"<pre\b.*?</pre>", re.S | re.I)
_BLOCK_START = re.compile(
    r"\s*<(?:p|div|h[1-6]|ul|ol|li|pre|blockquote|table|figure|hr|dl|address|section)\b", re.I
)
_KEEP = "QUIREKEEP{}X"
_KEPT = re.compile(r"QUIREKEEP(\d+)X")
_CODE_CLASS = re.compile(r"^(?:language|lang|brush)-(?P<lang>[\w+#-]+)$")


@dataclass(frozen=True)
class Converted:
    markdown: str
    left: tuple[str, ...]  # what was kept as written, for the import's report


def _language(element: Any) -> str | None:
    """A code block's language from WordPress's markup: class="language-x" on <pre> or
    <code>, lang="x", data-lang="x", or the old highlighter's class="brush: x"."""
    for node in (element, element.find("code")):
        if node is None:
            continue
        for attribute in ("lang", "data-lang", "data-language"):
            if node.get(attribute):
                return str(node.get(attribute)).strip().lower() or None
        classes = node.get("class") or []
        for index, name in enumerate(classes):
            if match := _CODE_CLASS.match(name):
                return match["lang"].lower()
            if name == "brush:" and index + 1 < len(classes):
                return str(classes[index + 1]).strip(";").lower()
    return None


class _Keeper:
    """Holds pieces taken out of the HTML before conversion, to put back after."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.left: list[str] = []

    def keep(self, text: str, *, block: bool, told: str | None = None) -> str:
        self.pieces.append(text.strip() if block else text)
        if told:
            self.left.append(told)
        token = _KEEP.format(len(self.pieces) - 1)
        return f"\n\n<p>{token}</p>\n\n" if block else token

    def restore(self, markdown: str) -> str:
        return _KEPT.sub(lambda match: self.pieces[int(match[1])], markdown)


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 60 else flat[:57] + "..."


def _highlighted(match: re.Match[str]) -> str:
    language = _LANGUAGE_ARG.search(match["args"])
    code = match["code"].strip("\n")
    # Some posts stored the code escaped, most as it is: escape only the latter.
    if not re.search(r"&(?:lt|gt|amp|quot|#\d+);", code):
        code = html.escape(code, quote=False)
    attribute = f' class="language-{language["lang"]}"' if language else ""
    return f"\n\n<pre><code{attribute}>{code}</code></pre>\n\n"


def _paragraphs(text: str) -> str:
    """wpautop's main rule: text between blank lines is a paragraph, a single newline a
    line break; <pre> blocks are left alone."""
    blocks: list[str] = []

    def aside(match: re.Match[str]) -> str:
        blocks.append(match[0])
        return f"\n\nQUIREPRE{len(blocks) - 1}X\n\n"

    chunks = re.split(r"\n\s*\n", _PRE.sub(aside, text.replace("\r\n", "\n")))
    out = []
    for chunk in chunks:
        if not chunk.strip():
            continue
        if _BLOCK_START.match(chunk) or _KEPT.fullmatch(chunk.strip()) or "QUIREPRE" in chunk:
            out.append(chunk)
        else:
            out.append("<p>" + chunk.strip().replace("\n", "<br>\n") + "</p>")
    joined = "\n\n".join(out)
    return re.sub(r"QUIREPRE(\d+)X", lambda match: blocks[int(match[1])], joined)


def to_markdown(content: str) -> Converted:
    """The Markdown for a post's stored HTML (`content:encoded`)."""
    keeper = _Keeper()
    text = _HIGHLIGHTER.sub(_highlighted, content)
    text = _HTML_BLOCK.sub(
        lambda m: keeper.keep(m["html"], block=True, told="a custom HTML block kept as HTML"),
        text,
    )

    def dynamic(match: re.Match[str]) -> str:
        if match["name"] not in _SILENT:
            keeper.left.append(f"block wp:{match['name']} (drawn by WordPress) left out")
        return ""

    text = _DYNAMIC.sub(dynamic, text)
    text = _RAW.sub(
        lambda m: keeper.keep(m[0], block=True, told=f"<{m['tag'].lower()}> kept as HTML"), text
    )
    text = _CAPTION.sub(
        lambda m: f"<p>{m['image']}</p>\n\n<p><em>{m['text'].strip()}</em></p>", text
    )
    text = _EMBED.sub(lambda m: f'<p><a href="{m["url"]}">{m["url"]}</a></p>', text)

    def shortcode(match: re.Match[str]) -> str:
        if match["inner"] is None and match["name"] not in _KNOWN_SHORTCODES:
            return match[0]
        return keeper.keep(match[0], block=False, told=f"shortcode {_short(match[0])} kept as text")

    text = _SHORTCODE.sub(shortcode, text)
    if "<!-- wp:" not in text:
        text = _paragraphs(text)
    converter = MarkdownConverter(
        heading_style="ATX",
        bullets="-",
        code_language_callback=_language,
        escape_misc=False,
    )
    markdown = keeper.restore(converter.convert(text)).strip()
    return Converted(markdown=markdown + "\n" if markdown else "", left=tuple(keeper.left))
