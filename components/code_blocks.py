"""Fenced code as HTML, made once when a post is saved.

The fence's info string says how: the language first, then MkDocs' or Hugo's options,

    ```python title="app.py" hl_lines="2 4-6" linenums="1"
    ```go {hl_lines=[2,"4-6"], linenos=true, linenostart=10}

Each line of the code becomes a span of its own, so that a line can be highlighted,
numbered (the number is drawn by CSS from `data-n`, so selecting and copying the code
never takes the numbers), marked as added or removed in a diff (`<ins>` and `<del>`,
with the `+` and `-` kept: not by colour alone), or told apart as a shell session's
output (`out`), which the copy button leaves out along with the prompts. A `$`-prompted
shell block is read as a session. The language is shown as a label, the title above it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(nowrap=True)
# key=value, key="value", key='value' or key=[list], as MkDocs and Hugo write them.
_OPTION = re.compile(r"""([A-Za-z_][\w-]*)\s*=\s*("[^"]*"|'[^']*'|\[[^\]]*\]|[^\s,}]+)""")
_RANGE = re.compile(r"(\d{1,6})(?:\s*-\s*(\d{1,6}))?")
# Shell languages whose blocks, when a line starts with a `$ ` prompt, are sessions.
_SHELLS = frozenset({"bash", "sh", "shell", "zsh", "ksh"})
# Labels kinder than the lexers' own names.
_LABELS = {"console": "Shell session", "shell-session": "Shell session", "pycon": "Python console"}
_OUTPUT_LINE = re.compile(r'(?:<span class="go">[^<]*</span>)+')
MAX_TITLE = 200


@dataclass(frozen=True)
class Fence:
    """What a fence's info string asks for."""

    language: str = ""
    title: str = ""
    # Highlighted lines, as inclusive ranges (never expanded: "1-999999" costs nothing).
    highlighted: tuple[tuple[int, int], ...] = ()
    # The first line's number, or None for no numbers.
    first_number: int | None = None

    def is_highlighted(self, number: int) -> bool:
        return any(low <= number <= high for low, high in self.highlighted)


def parse_info(info: str) -> Fence:
    """The language and options of a fence's info string (unknown options are ignored)."""
    info = info.strip()
    language, _, rest = info.partition(" ")
    if language.startswith("{"):
        language, rest = "", info
    elif "{" in language:
        language, _, brace = language.partition("{")
        rest = "{" + brace + " " + rest
    options = {key.lower(): _unquoted(value) for key, value in _OPTION.findall(rest)}
    title = options.get("title") or options.get("filename") or ""
    first_number: int | None = None
    if (start := options.get("linenums")) is not None:
        first_number = _number(start, default=1)
    elif options.get("linenos", "false").lower() not in {"false", "0", "no", ""}:
        first_number = _number(options.get("linenostart", "1"), default=1)
    return Fence(
        language=language.strip().lower().removeprefix("."),
        title=title.strip()[:MAX_TITLE],
        highlighted=tuple(
            (int(low), int(high or low))
            for low, high in _RANGE.findall(options.get("hl_lines", ""))
        ),
        first_number=first_number,
    )


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _number(value: str, default: int) -> int:
    return int(value) if value.isdigit() and len(value) <= 6 else default


def render(code: str, info: str) -> str:
    """The HTML of one fenced block: a figure with its label and title, and its lines."""
    fence = parse_info(info)
    language = fence.language
    if language in _SHELLS and any(line.startswith("$ ") for line in code.splitlines()):
        language = "console"
    diff, _, inner = language.partition("-") if language.startswith("diff-") else ("", "", "")
    lexer = _lexer(inner if diff else language)
    lines = code.removesuffix("\n").split("\n")
    if diff:
        signs = [line[:1] for line in lines]
        body = "\n".join(line[1:] for line in lines)
        shown = _lines(body, lexer)
        kinds = [{"+": "added", "-": "removed"}.get(sign, "") for sign in signs]
        shown = [f"{html.escape(sign)}{line}" for sign, line in zip(signs, shown, strict=True)]
    else:
        shown = _lines(code.removesuffix("\n"), lexer)
        kinds = [
            _diff_kind(line) if language in {"diff", "patch", "udiff"} else "" for line in lines
        ]
    rows = [
        _row(line, number, fence, kind)
        for number, (line, kind) in enumerate(zip(shown, kinds, strict=True), start=1)
    ]
    pre_class = "highlight linenums" if fence.first_number is not None else "highlight"
    lang_attr = f' data-lang="{html.escape(language)}"' if language else ""
    label = _label(fence.language, language, lexer, diff=bool(diff))
    # A block wider than its column scrolls: focusable, so a keyboard can scroll it, and
    # named, so a screen reader says what the focus is on.
    name = ", ".join(part for part in (fence.title, f"{label} code" if label else "") if part)
    block = (
        f'<pre class="{pre_class}"{lang_attr} tabindex="0" role="group"'
        f' aria-label="{html.escape(name or "Code")}"><code>' + "\n".join(rows) + "</code></pre>"
    )
    caption = ""
    if fence.title or label:
        title = f'<span class="code-title">{html.escape(fence.title)}</span>' if fence.title else ""
        shown_label = f'<span class="code-lang">{html.escape(label)}</span>' if label else ""
        caption = f"<figcaption>{title}{shown_label}</figcaption>"
    return f'<figure class="code">{caption}{block}</figure>\n'


def _lexer(name: str) -> Lexer | None:
    if not name:
        return None
    try:
        # Leading and trailing blank lines are the author's; a final newline is added
        # (a session's last command is lost without one) and taken off again below.
        return get_lexer_by_name(name, stripnl=False)
    except ClassNotFound:
        return None


def _lines(code: str, lexer: Lexer | None) -> list[str]:
    """The code's lines as HTML, each with its spans closed (Pygments closes a token at
    a line's end and opens it again on the next)."""
    if lexer is None:
        return [html.escape(line) for line in code.split("\n")]
    out = highlight(code, lexer, _FORMATTER)
    lines = out.removesuffix("\n").split("\n")
    wanted = code.count("\n") + 1
    # Pygments may drop a last empty line or add none: keep one row per line of code.
    return (lines + [""] * wanted)[:wanted]


def _diff_kind(line: str) -> str:
    if line.startswith("+") and not line.startswith("+++"):
        return "added"
    if line.startswith("-") and not line.startswith("---"):
        return "removed"
    return ""


def _row(line: str, number: int, fence: Fence, kind: str) -> str:
    classes = ["line"]
    if fence.is_highlighted(number):
        classes.append("hl")
    if _OUTPUT_LINE.fullmatch(line):
        classes.append("out")
    shown_number = ""
    if fence.first_number is not None:
        shown_number = f' data-n="{fence.first_number + number - 1}"'
    tag = {"added": "ins", "removed": "del"}.get(kind, "span")
    return f'<{tag} class="{" ".join(classes)}"{shown_number}>{line}</{tag}>'


def _label(written: str, language: str, lexer: Lexer | None, *, diff: bool) -> str:
    if not written:
        return ""
    name = _LABELS.get(language) or (lexer.name if lexer is not None else written)
    return f"{name} diff" if diff else name
