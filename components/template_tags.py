"""Jekyll and Hugo template tags in an imported post's body, turned into Markdown.

Liquid tags (`{% ... %}`, `{{ ... }}`) and Hugo shortcodes (`{{< ... >}}`, `{{% ... %}}`)
mean nothing to Quire: left alone they show on the page as raw text. `convert` rewrites
the common ones once, at import time: videos and gists become plain links (our CSP
forbids third-party frames and images), figures become Markdown images, highlight
blocks become fenced code, cross-references become `/<slug>` addresses (the slug the
target file gives, when the caller can read it: components/tag_targets). Every other
tag is kept exactly as written and reported with its line in the file, so that the
writer can fix it by hand: nothing the writer wrote is ever dropped. The first
MAX_WARNINGS are told one by one, then how many more there were, so that a file of
ten thousand tags cannot bury the rest of an import's report.

Hugo reads shortcodes in content and nothing else: `{{ ... }}` there is the writer's
text (a Go template example, say), left alone and not reported. In a Jekyll file it is
Liquid, and reported like any other tag.

Pure: a string in, a string and warnings out. A tag may not contain a brace and is at
most a couple of thousand characters long, and each closing tag is searched for once,
so a body full of unclosed tags is still scanned in linear time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from components.text import slugify


@dataclass(frozen=True)
class Converted:
    """A body with its tags converted, and one warning per tag left as it was."""

    body: str
    warnings: tuple[str, ...]  # each "line N: <what> left as it was", N a line of the file


# What a cross-reference's target file says its slug is: given the tag's name (`link`,
# `post_url`, `ref` or `relref`) and the path it names; None when it cannot say.
SlugOf = Callable[[str, str], str | None]

# Tags told one by one in a file's warnings; the rest are counted in one line.
MAX_WARNINGS = 20


def _no_files(_tag: str, _path: str) -> str | None:
    return None


def convert(
    body: str, *, first_line: int = 1, hugo: bool = False, slug_of: SlugOf = _no_files
) -> Converted:
    """first_line is the file line number of the body's first line (after the front
    matter); `hugo` says the file is Hugo's (see above); `slug_of` reads targets' slugs."""
    return _Scan(body, first_line, hugo, slug_of).run()


# Braces are excluded inside a tag: a stray `{{<` then stops at the next brace instead
# of swallowing the text up to some far-off `>}}`, and no match ever backtracks far.
_TAG = re.compile(
    r"\{\{(?P<open>[<%])(?P<shortcode>[^{}]{0,2000}?)(?P<close>[>%])\}\}"
    r"|\{%-?(?P<liquid>[^{}]{0,2000}?)-?%\}"
    r"|\{\{-?(?P<output>[^{}]{0,2000}?)-?\}\}"
    r"|(?P<unclosed>\{\{[<%]|\{%)"
)
_HUGO_END_HIGHLIGHT = re.compile(r"\{\{[<%]\s*/\s*highlight\s*[>%]\}\}")
_LIQUID_END_HIGHLIGHT = re.compile(r"\{%-?\s*endhighlight\s*-?%\}")
_END_RAW = re.compile(r"\{%-?\s*endraw\s*-?%\}")
# Inside a highlight block only the escapes are undone: a raw marker alone on its line
# goes with its line, one within a line goes alone, and `{{</* x */>}}` shows as `{{< x >}}`.
_ESCAPES = re.compile(
    r"^[ \t]*\{%-?\s*(?:end)?raw\s*-?%\}[ \t]*\n"
    r"|\{%-?\s*(?:end)?raw\s*-?%\}"
    r"|\{\{([<%])/\*([^{}]{0,2000}?)\*/([>%])\}\}",
    re.M,
)
_ARGUMENT = re.compile(r'\s*(?:([A-Za-z_][\w-]*)\s*=\s*)?("(?:[^"\\]|\\.)*"|`[^`]*`|[^\s"`]+)')
_SELF_CLOSING = re.compile(r"\s/\s*\Z")
_BLANK_TO_LINE_END = re.compile(r"[ \t]*(?:\n|\Z)")
_LANGUAGE = re.compile(r"[\w+#.-]+")
_VIDEO_ID = re.compile(r"[\w-]+")
_GIST_PART = re.compile(r"[\w.-]+")
_PAGE_SUFFIX = re.compile(r"\.(?:md|markdown|mdown|mkdn?|mkd|html?)\Z", re.I)
# The same file-name rules as components.frontmatter, so that a link finds the post's slug.
_BUNDLE_INDEX = re.compile(r"_?index(?:\.[A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)?", re.I)
_FILE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}-(.+)")
_POST_NAME = re.compile(r"(\d{4})-(\d{2})-(\d{2})-([^/\s]+)")
_EMPTY_OUTPUTS = {"site.baseurl", "site.url"}  # Quire's links are site-relative
_SNIPPET = 60


class _Scan:
    """One pass over a body: `out` holds the converted text of `body[:done]`."""

    def __init__(self, body: str, first_line: int, hugo: bool, slug_of: SlugOf) -> None:
        self.body = body
        self.hugo = hugo
        self.slug_of = slug_of
        self.out: list[str] = []
        self.done = 0
        self.warnings: list[str] = []
        self.unreported = 0  # tags left as they were past MAX_WARNINGS
        self._line, self._counted_to = first_line, 0
        # The last search for each closing tag: whatever it found (or did not) holds for
        # any later search starting before that point, so no stretch is searched twice.
        self._closers: dict[re.Pattern[str], tuple[int, re.Match[str] | None]] = {}

    def run(self) -> Converted:
        position = 0
        while (tag := _TAG.search(self.body, position)) is not None:
            position = self._handle(tag)
        self.out.append(self.body[self.done :])
        if self.unreported:
            self.warnings.append(
                f"{self.unreported} more tag(s) left as they were, not listed one by one"
            )
        return Converted("".join(self.out), tuple(self.warnings))

    def _handle(self, tag: re.Match[str]) -> int:
        """Deal with one tag; returns where to scan on from."""
        if tag["unclosed"] is not None:
            line = self.body[tag.start() : tag.start() + 80].split("\n", 1)[0]
            self._warn(tag.start(), "unclosed " + line)
            return tag.end()  # tags after the opener on its line are tags all the same
        if tag["shortcode"] is not None:
            return self._shortcode(tag)
        if tag["liquid"] is not None:
            return self._liquid(tag)
        if self.hugo:
            return tag.end()  # Hugo shows `{{ ... }}` in content as it is
        if tag["output"].strip() in _EMPTY_OUTPUTS:
            return self._replace(tag.start(), tag.end(), "")
        return self._keep(tag)

    def _shortcode(self, tag: re.Match[str]) -> int:
        inner = tag["shortcode"]
        if tag["open"] + tag["close"] not in ("<>", "%%"):
            return self._keep(tag)
        if len(inner) >= 4 and inner.startswith("/*") and inner.endswith("*/"):
            shown = "{{" + tag["open"] + inner[2:-2] + tag["close"] + "}}"
            return self._replace(tag.start(), tag.end(), shown)
        # `{{< name args />}}` is Hugo's self-closing form of `{{< name args >}}`.
        name, rest = _split(_SELF_CLOSING.sub("", inner))
        arguments = _arguments(rest)
        if name == "highlight":
            language = (arguments or {}).get(0, "")
            options = _code_options((arguments or {}).get(1, "").split(","))
            return self._highlight(tag, _HUGO_END_HIGHLIGHT, language, options)
        converter = _SHORTCODES.get(name)
        if name in ("ref", "relref") and arguments is not None:
            text = _ref(arguments, functools.partial(self.slug_of, name))
        else:
            text = converter(arguments) if converter and arguments is not None else None
        return self._keep(tag) if text is None else self._replace(tag.start(), tag.end(), text)

    def _liquid(self, tag: re.Match[str]) -> int:
        name, rest = _split(tag["liquid"])
        if name == "raw" and not rest:
            return self._raw(tag)
        if name == "highlight":
            language, *flags = rest.split() or [""]
            options = _code_options(
                re.findall(r"\w+(?:=(?:\"[^\"]*\"|'[^']*'|\S+))?", " ".join(flags))
            )
            return self._highlight(tag, _LIQUID_END_HIGHLIGHT, language, options)
        converter = _LIQUID_TAGS.get(name)
        text = converter(rest, functools.partial(self.slug_of, name)) if converter else None
        return self._keep(tag) if text is None else self._replace(tag.start(), tag.end(), text)

    def _highlight(
        self, tag: re.Match[str], end_pattern: re.Pattern[str], language: str, options: str = ""
    ) -> int:
        end = self._closing(end_pattern, tag.end())
        if end is None:
            self._warn(tag.start(), "unclosed " + tag[0])
            return tag.end()
        code = _ESCAPES.sub(_unescape, self.body[tag.end() : end.start()])
        language = language if _LANGUAGE.fullmatch(language) else ""
        fence = _fence(f"{language} {options}" if language and options else language, code)
        # A fence must have its lines to itself, or it is no fence.
        if _line_start(self.body, self.done, tag.start()) is None:
            fence = "\n" + fence
        if _line_end(self.body, end.end()) is None:
            fence += "\n"
        return self._replace(tag.start(), end.end(), fence)

    def _raw(self, tag: re.Match[str]) -> int:
        end = self._closing(_END_RAW, tag.end())
        if end is None:
            self._warn(tag.start(), "unclosed " + tag[0])
            return tag.end()
        start, content_start, content_end, stop = tag.start(), tag.end(), end.start(), end.end()
        # A marker alone on its line takes its line with it, so no blank line is left.
        before, after = _line_start(self.body, self.done, start), _line_end(self.body, tag.end())
        if before is not None and after is not None:
            start, content_start = before, after
        before = _line_start(self.body, content_start, end.start())
        after = _line_end(self.body, end.end())
        if before is not None and after is not None:
            content_end, stop = before, after
        self._replace(start, content_start, "")
        return self._replace(content_end, stop, "")  # the content is scanned no further

    def _closing(self, pattern: re.Pattern[str], position: int) -> re.Match[str] | None:
        searched_from, found = self._closers.get(pattern, (-1, None))
        if 0 <= searched_from <= position and (found is None or found.start() >= position):
            return found
        found = pattern.search(self.body, position)
        self._closers[pattern] = (position, found)
        return found

    def _replace(self, start: int, end: int, text: str) -> int:
        self.out += (self.body[self.done : start], text)
        self.done = end
        return end

    def _keep(self, tag: re.Match[str]) -> int:
        self._warn(tag.start(), tag[0])
        return tag.end()

    def _warn(self, position: int, what: str) -> None:
        if len(self.warnings) >= MAX_WARNINGS:
            self.unreported += 1
            return
        what = " ".join(what.split())
        if len(what) > _SNIPPET:
            what = what[: _SNIPPET - 1] + "…"
        self.warnings.append(f"line {self._line_of(position)}: {what} left as it was")

    def _line_of(self, position: int) -> int:
        # Counted on from the last warning (warnings come in order): recounting from the
        # top for each would be quadratic on a body full of them.
        self._line += self.body.count("\n", self._counted_to, position)
        self._counted_to = position
        return self._line


# Hugo's arguments, by name (lower-case) or by position (0, 1, ...).
_Arguments = dict[str | int, str]


def _arguments(text: str) -> _Arguments | None:
    """Hugo's arguments: `a "b c" key=d key="e f"`; None for text that is none of these."""
    found: _Arguments = {}
    text, position, index = text.strip(), 0, 0
    while position < len(text):
        if (argument := _ARGUMENT.match(text, position)) is None:
            return None
        if argument[1]:
            found[argument[1].lower()] = _unquote(argument[2])
        else:
            found[index], index = _unquote(argument[2]), index + 1
        position = argument.end()
    return found


def _unquote(value: str) -> str:
    if value.startswith('"'):
        return re.sub(r"\\(.)", r"\1", value[1:-1], flags=re.S)
    return value[1:-1] if value.startswith("`") else value


def _split(inner: str) -> tuple[str, str]:
    """A tag's name, and the rest."""
    name, rest, *_ = [*inner.split(maxsplit=1), "", ""]
    return name, rest


def _video(address: str, label: str) -> Callable[[_Arguments], str | None]:
    """A link to the video, not a player: our CSP lets no third-party frame in."""

    def link(arguments: _Arguments) -> str | None:
        video = arguments.get("id") or arguments.get(0, "")
        if not _VIDEO_ID.fullmatch(video):
            return None
        return _link(arguments.get("title") or label, address + video)

    return link


def _gist(arguments: _Arguments) -> str | None:
    user, gist, file = (arguments.get(index, "") for index in range(3))
    if not (_GIST_PART.fullmatch(user) and _GIST_PART.fullmatch(gist)):
        return None
    label = f"{file} (gist by {user})" if file else f"Gist by {user}"
    return _link(label, f"https://gist.github.com/{user}/{gist}")


def _figure(arguments: _Arguments) -> str | None:
    src, link = _destination(arguments.get("src", "")), _destination(arguments.get("link", ""))
    if not src or link is None:
        return None
    alt = arguments.get("alt") or arguments.get("title") or arguments.get("caption", "")
    image = f"![{_escaped(alt)}]({src})"
    if link:
        image = f"[{image}]({link})"
    caption = " ".join((arguments.get("caption") or arguments.get("title", "")).split())
    mark = "_" if "*" in caption else "*"  # emphasis inside emphasis needs the other mark
    return f"{image}\n{mark}{caption}{mark}" if caption else image


# The slug the file at a path gives, for one tag's target (None: it cannot say).
_OwnSlug = Callable[[str], str | None]


def _ref(arguments: _Arguments, own_slug: _OwnSlug) -> str | None:
    return _address(arguments.get("path") or arguments.get(0, ""), own_slug)


def _jekyll_link(rest: str, own_slug: _OwnSlug) -> str | None:
    path = rest.strip()
    name = path.rsplit("/", 1)[-1]
    if "." in name and not _PAGE_SUFFIX.search(name) and not any(c.isspace() for c in path):
        return "/" + path.lstrip("/")  # a static file keeps its path, as Jekyll gives it
    return _address(path, own_slug)


def _post_url(rest: str, own_slug: _OwnSlug) -> str | None:
    name = _PAGE_SUFFIX.sub("", rest.strip().rsplit("/", 1)[-1])
    post = _POST_NAME.fullmatch(name)
    if post is None:
        return None
    # A post whose `slug:` is not its file name's is not at this dated address: its bare
    # one leads to it (301), whatever its date.
    own = own_slug(rest.strip())
    if own and own != slugify(post[4]):
        return f"/{own}"
    return f"/{post[1]}/{post[2]}/{post[3]}/{post[4]}"


_SHORTCODES: dict[str, Callable[[_Arguments], str | None]] = {
    "youtube": _video("https://www.youtube.com/watch?v=", "Video on YouTube"),
    "vimeo": _video("https://vimeo.com/", "Video on Vimeo"),
    "gist": _gist,
    "figure": _figure,
}
_LIQUID_TAGS: dict[str, Callable[[str, _OwnSlug], str | None]] = {
    "link": _jekyll_link,
    "post_url": _post_url,
}


def _address(path: str, own_slug: _OwnSlug) -> str | None:
    """The Quire address of the post at `path` (Jekyll or Hugo), keeping any #anchor: its
    file's own slug when that can be read, else the one its name gives."""
    target, hashed, anchor = path.strip().partition("#")
    parts = [part for part in target.split("/") if part not in ("", ".")]
    if not parts:
        return f"#{anchor}" if hashed and anchor else None
    stem = _PAGE_SUFFIX.sub("", parts[-1])
    if stem == parts[-1] and "." in stem and not _BUNDLE_INDEX.fullmatch(stem):
        return None  # not a page: an image or some other file
    if _BUNDLE_INDEX.fullmatch(stem):
        if len(parts) < 2:
            return None
        stem = parts[-2]  # a Hugo page bundle: my-post/index.md
    if dated := _FILE_DATE.fullmatch(stem):
        stem = dated[1]
    slug = own_slug(target.strip()) or slugify(stem)
    return (f"/{slug}" + (f"#{anchor}" if hashed else "")) if slug else None


_LIQUID_OPTION = re.compile(r"\w+(?:=(?:\"[^\"]*\"|'[^']*'|\S+))?")
# Line numbers and highlighted lines, as Hugo's highlight and Jekyll's (Rouge's) take them.
_CODE_OPTIONS = {"linenos": "linenos", "hl_lines": "hl_lines", "linenostart": "linenostart",
                 "mark_lines": "hl_lines"}  # fmt: skip


def _code_options(pairs: list[str]) -> str:
    """`{linenos=table, hl_lines="2 4-5"}` for a fence's info string (code_blocks reads
    it), from `linenos=table`, `hl_lines=2 4-5` or a bare `linenos`."""
    kept = []
    for pair in pairs:
        key, has_value, value = pair.strip().partition("=")
        name = _CODE_OPTIONS.get(key.strip().lower())
        if name is None:
            continue
        value = value.strip().strip("\"'") if has_value else "true"
        if re.fullmatch(r"[\w -]{1,100}", value):
            kept.append(f'{name}="{value}"')
    return "{" + ", ".join(kept) + "}" if kept else ""


def _fence(language: str, code: str) -> str:
    # Both generators trim the blank lines around a highlighted block.
    code = code.strip("\n")
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)  # longer than any run inside, so none closes it
    return f"{fence}{language}\n{code}\n{fence}" if code else f"{fence}{language}\n{fence}"


def _unescape(escape: re.Match[str]) -> str:
    return "" if escape[1] is None else "{{" + escape[1] + escape[2] + escape[3] + "}}"


def _link(label: str, url: str) -> str:
    return f"[{_escaped(label)}]({url})"


def _escaped(text: str) -> str:
    """Text safe inside `[...]`: one line, its brackets escaped."""
    return re.sub(r"([\\\[\]])", r"\\\1", " ".join(text.split()))


def _destination(url: str) -> str | None:
    """`url` as a link destination, written as is; None when Markdown cannot hold it."""
    url = url.strip()
    if any(c in url for c in "<>\n"):
        return None
    return f"<{url}>" if any(c in url for c in " \t()") else url


def _line_start(body: str, floor: int, position: int) -> int | None:
    """Where the line of `position` starts, if only blanks lie between (not before `floor`)."""
    head = body[floor:position].rstrip(" \t")
    if head:
        return floor + len(head) if head.endswith("\n") else None
    return floor if floor == 0 or body[floor - 1] == "\n" else None


def _line_end(body: str, position: int) -> int | None:
    """Past the end of the line of `position`, if only blanks are left on it."""
    blank = _BLANK_TO_LINE_END.match(body, position)
    return blank.end() if blank else None
