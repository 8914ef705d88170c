"""Markdown files with front matter, as Jekyll and Hugo write them, read into posts.

Reading is pure: bytes in, a `Source` (what the post should be) or a `SourceError`
(what is wrong, and on which line) out. Nothing here touches the database or the
disk, so every rule is testable on a string. The keys people use in the wild:

- Jekyll: YAML between `---` lines; `YYYY-MM-DD-slug.md` file names; `_drafts/`;
  `published: false`; `tags` and `categories` as a list or a space-separated string;
  `permalink` and jekyll-redirect-from's `redirect_from`.
- Hugo: the same in YAML, or TOML between `+++` lines; `draft`, `slug`, `aliases`;
  page bundles (`my-post/index.md`).

Keys Quire has no use for are kept, JSON-safe and in order, so that an export can
write them back.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import PurePath
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from components import page_files, series
from components.text import slugify
from components.yaml_limits import MAX_FRONT_MATTER_NODES, BoundedLoader

MAX_TITLE = 300
_KIND = {"---": "YAML", "+++": "TOML"}


class SourceError(ValueError):
    """A file that cannot become a post; `line` is 1-based, or None when no line is to blame."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass(frozen=True)
class Source:
    """A post as a file carries it: what a file says (import), or what one will say
    (export). Dates are aware UTC."""

    title: str
    slug: str
    body: str
    description: str = ""
    tags: tuple[str, ...] = ()
    draft: bool = False
    date: datetime | None = None
    # None when the file does not say: the site's default for new posts decides.
    comments: bool | None = None
    share: bool = True
    # Former addresses: `permalink`, `aliases`, `redirect_from`.
    redirects: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    # Things worth telling that do not stop the import (a redirect that is not a path).
    warnings: tuple[str, ...] = ()
    page: bool = False  # a standalone page (components/page_files), not a post
    # When the text last changed, as the file says (`lastmod`, `last_modified_at`...).
    modified: datetime | None = None
    # The file up to its body, as written: delimiters, front matter, blank lines.
    head: str | None = field(default=None, compare=False)
    # The series the post is a part of: `series: Name`, or Hugo's `series: [Name]`.
    series: str = ""

    @property
    def image(self) -> str | None:
        """The cover image's path (`image: ...`), which is imported with the body's images."""
        image = next((v for k, v in self.extra.items() if k.lower() == "image"), None)
        return image.strip() if isinstance(image, str) and image.strip() else None


# Kept keys that say when a post last changed, in the order they are believed: Hugo's,
# jekyll-last-modified-at's, then the common ones.
MODIFIED_KEYS = ("lastmod", "last_modified_at", "modified", "updated")

# Kept keys that stand in for a missing `description`, in this order.
DESCRIPTION_STAND_INS = ("summary", "excerpt")

# Keys Quire maps onto a post. Anything else is kept in `extra`. `summary` and `excerpt`
# are kept too, and also stand in for a blank description.
_KNOWN = frozenset(
    {
        "title",
        "slug",
        "description",
        "date",
        "tags",
        "categories",
        "published",
        "draft",
        "comments",
        "share",
        "permalink",
        "aliases",
        "redirect_from",
        "series",
    }
)
# A Hugo bundle's own file, in one language or several (index.md, index.fr.md).
_BUNDLE_INDEX = re.compile(r"index(?:\.[A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)?", re.I)
_FILE_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})-(.+)")
_DATE_TEXT = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[ T](?P<time>\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?))?"
    r"\s*(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)?"
)


def read(data: bytes, path: PurePath, *, time_zone: str = "UTC") -> Source:
    """The post a file describes. `time_zone` is meant for dates written without one."""
    text = _decode(data)
    if not text.strip():
        raise SourceError("the file is empty")
    matter, body, first_line, kind = _split(text)
    values, lines = _parse(matter, first_line, kind)
    source = _to_source(values, lines, body, path, ZoneInfo(time_zone))
    return replace(source, head=text[: len(text) - len(body)])


# --- text and delimiters ------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SourceError(
            f"not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
            "save it as UTF-8 and import again",
            line,
        ) from None
    if (nul := text.find("\0")) >= 0:
        # PostgreSQL stores no NUL in text, and no Markdown needs one: it is binary data.
        raise SourceError("a NUL character: this is not a text file", text.count("\n", 0, nul) + 1)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split(text: str) -> tuple[str, str, int, str]:
    """The front matter, the body, the front matter's first line, and its kind."""
    lines = text.split("\n")
    opener = lines[0].rstrip()
    if opener not in {"---", "+++"}:
        raise SourceError(
            "no front matter: the file must start with '---' (YAML) or '+++' (TOML)", 1
        )
    closers = {"---", "..."} if opener == "---" else {"+++"}
    for index in range(1, len(lines)):
        if lines[index].rstrip() in closers:
            body = "\n".join(lines[index + 1 :])
            return "\n".join(lines[1:index]), body.removeprefix("\n"), 2, _KIND[opener]
    raise SourceError(f"the front matter opened with '{opener}' on line 1 is never closed", 1)


# --- parsing ------------------------------------------------------------------


class _Loader(BoundedLoader):
    """YAML's safe loader, with impossible dates reported at their line, and aliases kept
    from expanding past what front matter needs."""

    max_nodes = MAX_FRONT_MATTER_NODES

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            # PyYAML hands over whatever node carries the tag: an explicit !!timestamp can
            # tag a mapping, which SafeConstructor.construct_scalar reads (and refuses with
            # a ConstructorError). The stub's ScalarNode is narrower than the code it types.
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except ValueError as error:
            raise yaml.constructor.ConstructorError(
                None, None, f"impossible date {node.value!r} ({error})", node.start_mark
            ) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _parse(matter: str, first_line: int, kind: str) -> tuple[dict[str, Any], dict[str, int]]:
    """The front matter's keys and values, and the line each key is on."""
    if kind == "TOML":
        return _parse_toml(matter, first_line)
    loader = _Loader(matter)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        if not isinstance(node, yaml.MappingNode):
            raise SourceError("the front matter is not a list of 'key: value' lines", first_line)
        lines = {
            str(key.value): first_line + key.start_mark.line
            for key, _value in node.value
            if isinstance(key, yaml.ScalarNode)
        }
        values = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = first_line + mark.line if mark is not None else first_line
        problem = error.problem or error.context or "invalid YAML"
        if not problem.startswith("impossible date"):
            problem = f"invalid YAML front matter: {problem}"
        raise SourceError(problem, line) from None
    except yaml.YAMLError as error:
        raise SourceError(f"invalid YAML front matter: {error}", first_line) from None
    finally:
        loader.dispose()
    return {str(key): value for key, value in values.items()}, lines


_TOML_AT = re.compile(r"\(at line (\d+), column \d+\)")
_TOML_KEY = re.compile(r"^\s*([\"']?)([^\"'=\s]+)\1\s*=", re.MULTILINE)


def _parse_toml(matter: str, first_line: int) -> tuple[dict[str, Any], dict[str, int]]:
    try:
        values = tomllib.loads(matter)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        at = _TOML_AT.search(message)
        line = first_line + int(at[1]) - 1 if at else first_line
        raise SourceError(
            f"invalid TOML front matter: {_TOML_AT.sub('', message).strip()}", line
        ) from None
    lines: dict[str, int] = {}
    for match in _TOML_KEY.finditer(matter):
        lines.setdefault(match[2], first_line + matter.count("\n", 0, match.start()))
    return values, lines


# --- values -------------------------------------------------------------------


def _to_source(
    values: dict[str, Any], lines: dict[str, int], body: str, path: PurePath, zone: ZoneInfo
) -> Source:
    # Hugo reads keys without regard to case; so does Quire, for the keys it knows.
    known = {key.lower(): value for key, value in values.items() if key.lower() in _KNOWN}
    line = {key.lower(): number for key, number in lines.items()}
    extra = {key: _json_safe(value) for key, value in values.items() if key.lower() not in _KNOWN}
    warnings: list[str] = []

    title = " ".join(_text(known.get("title"), "title", line).split())
    if not title:
        raise SourceError(
            "missing title: add 'title: ...' to the front matter", line.get("title", 1)
        )
    if len(title) > MAX_TITLE:
        raise SourceError(
            f"the title is {len(title)} characters; at most {MAX_TITLE} fit", line.get("title")
        )

    # Jekyll's drafts have no date in their names: a leading date there is part of the slug.
    stem, file_date = _from_file_name(path, zone, dated="_drafts" not in path.parts)
    slug = slugify(_text(known.get("slug"), "slug", line) or stem or title)
    if not slug:
        slug = slugify(title)
    if not slug:
        raise SourceError(
            "no address for this post: give it a 'slug' with at least one Latin letter or digit",
            line.get("slug", line.get("title")),
        )

    when = _date(known["date"], zone, line.get("date")) if known.get("date") is not None else None
    draft = (
        not _flag(known.get("published"), "published", line, default=True)
        or _flag(known.get("draft"), "draft", line, default=False)
        or "_drafts" in path.parts
    )

    description = _text(known.get("description"), "description", line).strip()
    # A blank description stays empty (the card shows the opening words); only a file
    # without one lets its `summary` or `excerpt` stand in.
    if "description" not in known:
        for fallback in DESCRIPTION_STAND_INS:
            text = next((v for k, v in values.items() if k.lower() == fallback), None)
            if isinstance(text, str) and text.strip():
                description = text.strip()
                break

    tags = (
        *_names(known.get("tags"), "tags", line),
        *_names(known.get("categories"), "categories", line),
    )
    redirects: list[str] = []
    for key in ("permalink", "aliases", "redirect_from"):
        for target in _names(known.get(key), key, line, split=False):
            path_or_none, problem = _redirect_path(target)
            if path_or_none is None:
                warnings.append(f"line {line.get(key, '?')}: {key} {target!r} {problem}, not kept")
            elif path_or_none not in redirects:
                redirects.append(path_or_none)

    page = page_files.is_page(path, values)
    if page:
        # A page keeps the address its permalink gave it, when that fits /<slug>.
        given = _names(known.get("permalink"), "permalink", line, split=False)
        permalink = _redirect_path(given[0])[0] if given else None
        named = page_files.single_segment(permalink) if permalink else None
        if named and slugify(named) and not _text(known.get("slug"), "slug", line):
            slug = slugify(named)
        redirects = [path for path in redirects if not page_files.own_address(slug, path)]
        # `layout: page` says what the kind says; an export writes it back.
        extra = {k: v for k, v in extra.items() if not (k == "layout" and v == "page")}

    series_names = _names(known.get("series"), "series", line, split=False)
    if len(series_names) > 1:
        warnings.append(
            f"line {line.get('series', '?')}: a post is a part of one series; "
            f"kept {series_names[0]!r} of {len(series_names)}"
        )
    part_of = series_names[0][: series.MAX_NAME] if series_names else ""
    if part_of and not slugify(part_of):
        warnings.append(
            f"line {line.get('series', '?')}: series {part_of!r} has no Latin letter or "
            "digit for its address, not kept"
        )
        part_of = ""

    modified = None
    for key in MODIFIED_KEYS:
        found = next(((k, v) for k, v in values.items() if k.lower() == key), None)
        if found is None or found[1] is None or found[1] == "":
            continue
        try:
            modified = _date(found[1], zone, lines.get(found[0]))
            break
        except SourceError as error:
            warnings.append(f"line {error.line or '?'}: {found[0]} not read: {error.message}")

    return Source(
        title=title,
        slug=slug,
        body=body,
        description=description,
        tags=_unique(tags),
        draft=draft,
        date=when if when is not None else file_date,
        comments=None
        if known.get("comments") is None
        else _flag(known.get("comments"), "comments", line, default=False),
        share=_flag(known.get("share"), "share", line, default=True),
        redirects=tuple(redirects),
        extra=extra,
        warnings=tuple(warnings),
        page=page,
        modified=modified,
        series=part_of,
    )


def _from_file_name(path: PurePath, zone: ZoneInfo, *, dated: bool) -> tuple[str, datetime | None]:
    """The slug a file name gives, and its date (midnight in `zone`) if it has one."""
    stem = path.stem
    if _BUNDLE_INDEX.fullmatch(stem) and path.parent.name:
        stem = path.parent.name  # a Hugo page bundle: my-post/index.md, or index.fr.md
    match = _FILE_DATE.fullmatch(stem) if dated else None
    if match is None:
        return stem, None
    try:
        midnight = datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=zone)
    except ValueError:
        return stem, None
    return match[4], midnight.astimezone(UTC)


def _text(value: Any, key: str, line: Mapping[str, int]) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SourceError(f"'{key}' must be text", line.get(key))
    return str(value)


def _flag(value: Any, key: str, line: Mapping[str, int], *, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise SourceError(f"'{key}' must be true or false, not {value!r}", line.get(key))


def _names(value: Any, key: str, line: Mapping[str, int], *, split: bool = True) -> list[str]:
    """A list of names, from a YAML/TOML list or from one string."""
    if value is None:
        return []
    if isinstance(value, str):
        if not split:
            return [value.strip()] if value.strip() else []
        # Jekyll splits on spaces; "a, b" is what people mean when they write commas.
        parts = value.split(",") if "," in value else value.split()
        return [part.strip() for part in parts if part.strip()]
    if isinstance(value, list):
        names = []
        for item in value:
            if isinstance(item, dict | list) or item is None:
                raise SourceError(f"'{key}' must be a list of names", line.get(key))
            if str(item).strip():
                names.append(" ".join(str(item).split()))
        return names
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [str(value)]
    raise SourceError(f"'{key}' must be a list or a string", line.get(key))


def _unique(names: tuple[str, ...]) -> tuple[str, ...]:
    """One name per tag: names that slug alike are one tag, and one with no slug is none."""
    seen: dict[str, str] = {}
    for name in names:
        if slug := slugify(name):
            seen.setdefault(slug, name)
    return tuple(seen.values())


def _redirect_path(target: str) -> tuple[str | None, str]:
    if "://" in target or target.startswith("//"):
        return None, "is an address on another site"
    if ":" in target.split("?")[0]:
        return None, "is a pattern (':title', ':year'), not an address"
    path = "/" + target.strip().lstrip("/")
    path = path.split("#")[0].split("?")[0]
    if path == "/" or any(char.isspace() for char in path) or len(path) > 500:
        return None, "is not a path"
    return path, ""


def _date(value: Any, zone: ZoneInfo, line: int | None) -> datetime:
    """A front matter date as aware UTC; one without a zone is in `zone`."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        moment = _date_text(value.strip(), line)
    else:
        raise SourceError(f"'date' must be a date like 2023-09-29, not {value!r}", line)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # 0001-01-01 east of UTC, or 9999-12-31 west of it, has no UTC time.
        raise SourceError(
            f"impossible date {value!s}: it falls outside the years 1 to 9999", line
        ) from None


def _date_text(text: str, line: int | None) -> datetime:
    match = _DATE_TEXT.fullmatch(text)
    if match is None:
        raise SourceError(
            f"'date' {text!r} is not a date like 2023-09-29 or 2023-09-29 14:30:00 +0200", line
        )
    iso = match["date"] + (f"T{match['time']:0>5}" if match["time"] else "")
    zone = match["zone"]
    if zone and zone != "Z":
        zone = zone if ":" in zone or len(zone) == 3 else f"{zone[:3]}:{zone[3:]}"
        if len(zone) == 3:
            zone += ":00"
    try:
        return datetime.fromisoformat(iso + ("+00:00" if zone == "Z" else zone or ""))
    except ValueError as error:
        raise SourceError(f"impossible date {text!r} ({error})", line) from None


def _json_safe(value: Any) -> Any:
    """A front matter value as JSON can hold it: dates as ISO 8601 text."""
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
