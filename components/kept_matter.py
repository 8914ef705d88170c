"""Front matter kept as the writer wrote it, through an import and an export.

A writer who keeps a blog in Git must not see every file change on the first export.
So the import keeps each file's front matter as written (`Post.source_head`: the
delimiters, the keys in their order and quoting, and the blank line after) and a print
of the post as it came in (`Post.source_print`). On export:

- a post whose print still matches was not edited: its front matter goes out as it
  came in, byte for byte;
- an edited post's front matter is loaded by a round-trip parser (ruamel.yaml for YAML,
  tomlkit for TOML), which keeps order, quoting, flow or block lists and comments, and
  only the keys whose values changed are set or removed.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, MutableMapping
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

import tomlkit
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq

from components.frontmatter import Source, SourceError, read
from components.models import Post
from components.saving import Content
from components.text import slugify

_BLOCK_LIST = re.compile(r"^(?P<key> *)[^\s#-][^\n]*:[ \t]*\n(?P<dash> *)- ", re.M)


def fingerprint(post: Post, tag_slugs: Iterable[str]) -> str:
    """A print of what an export writes of `post` (not its former addresses)."""
    return _print(
        post.title,
        post.slug,
        post.description,
        post.body,
        tag_slugs,
        post.status.value,
        post.published_at,
        post.comments_enabled,
        post.share_enabled,
        post.front_matter or {},
        post.kind.value,
        post.series.slug if post.series else "",
    )


def fingerprint_of(content: Content) -> str:
    """The print the post `content` is about to become will have (see fingerprint)."""
    return _print(
        content.title,
        content.slug,
        content.description,
        content.body,
        tag_slugs(content.tags),
        content.status.value,
        content.published_at,
        content.comments_enabled,
        content.share_enabled,
        content.front_matter or {},
        content.kind.value,
        slugify(content.series or ""),
    )


def _print(
    title: str,
    slug: str,
    description: str,
    body: str,
    tags: Iterable[str],
    status: str,
    published_at: datetime | None,
    comments: bool,
    share: bool,
    front_matter: dict[str, Any],
    kind: str,
    part_of: str,
) -> str:
    facts = [
        title,
        slug,
        description,
        body,
        sorted(tags),
        status,
        published_at.isoformat() if published_at else None,
        comments,
        share,
        front_matter,
        kind,
    ]
    if part_of:
        # Only when there is one: the prints of posts in no series stay as they were.
        facts.append(part_of)
    text = json.dumps(facts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def tag_slugs(names: Iterable[str]) -> set[str]:
    return {slug for name in names if (slug := slugify(name))}


def _split(head: str) -> tuple[str, str, str]:
    """The opening line, the front matter, and the rest (closing line, blank lines)."""
    opener, _, rest = head.partition("\n")
    closers = ("---", "...") if opener.rstrip() == "---" else ("+++",)
    lines = rest.split("\n")
    for index, line in enumerate(lines):
        if line.rstrip() in closers:
            matter = "\n".join(lines[:index])
            return opener + "\n", matter + ("\n" if matter else ""), "\n".join(lines[index:])
    raise ValueError("a kept front matter that does not close")


def _key(document: MutableMapping[str, Any], name: str) -> str:
    """The key as the file spells it (Hugo's keys are read without regard to case)."""
    return next((key for key in document if str(key).lower() == name), name)


def _set(document: MutableMapping[str, Any], name: str, value: Any) -> None:
    document[_key(document, name)] = value


def _drop(document: MutableMapping[str, Any], *names: str) -> None:
    for name in names:
        key = _key(document, name)
        if key in document:
            del document[key]


def _like(old: Any, name: str) -> Any:
    """`name` as the value `old` was: a name, or a list of one (`[a]` kept as `[a]`)."""
    if not isinstance(old, list):
        return name
    if isinstance(old, CommentedSeq):
        listed = CommentedSeq([name])
        if old.fa.flow_style():
            listed.fa.set_flow_style()
        return listed
    return [name]


def _date_value(moment: datetime, toml: bool) -> Any:
    if toml:
        return moment
    return moment.strftime("%Y-%m-%d %H:%M:%S +0000")


def _patch(document: MutableMapping[str, Any], was: Source, now: Source, toml: bool) -> None:
    """Set in `document` only what differs between `was` and `now`."""
    for field, key in (("title", "title"), ("description", "description"), ("slug", "slug")):
        if getattr(was, field) != getattr(now, field):
            _set(document, key, getattr(now, field))
    # A file without `comments:` took the site's default (on, unless set otherwise): it is
    # written only when the post's comments are off.
    if was.comments is not None and was.comments != now.comments:
        _set(document, "comments", now.comments)
    elif was.comments is None and now.comments is False:
        _set(document, "comments", False)
    if was.share != now.share:
        _set(document, "share", now.share)
    if tag_slugs(was.tags) != tag_slugs(now.tags):
        _drop(document, "categories")
        _set(document, "tags", list(now.tags))
    if slugify(was.series) != slugify(now.series):
        if not now.series:
            _drop(document, "series")
        else:
            # Hugo's taxonomy is a list; a file that wrote one gets one back, in its style.
            _set(document, "series", _like(document.get(_key(document, "series")), now.series))
    if was.date != now.date and now.date is not None:
        _set(document, "date", _date_value(now.date, toml))
    if was.draft != now.draft:
        _drop(document, "published", "draft")
        if now.draft:
            # Hugo says draft: true; Jekyll, published: false.
            _set(document, "draft" if toml else "published", toml)
    if set(was.redirects) != set(now.redirects):
        # The permalink stays where it is; the other former addresses are written again.
        _drop(document, "aliases", "redirect_from")
        permalink = "/" + str(document.get(_key(document, "permalink")) or "").strip("/")
        others = [path for path in now.redirects if path.rstrip("/") != permalink.rstrip("/")]
        if others:
            _set(document, "aliases" if toml else "redirect_from", others)
    for name in {*was.extra, *now.extra}:
        if was.extra.get(name) != now.extra.get(name):
            if name in now.extra:
                _set(document, name, now.extra[name])
            else:
                _drop(document, name)


def patched(head: str, was: Source, now: Source) -> str:
    """`head` with the keys whose values differ between `was` and `now` changed, and
    nothing else."""
    opener, matter, rest = _split(head)
    toml = opener.startswith("+++")
    if toml:
        document: Any = tomlkit.parse(matter)
        _patch(document, was, now, toml=True)
        text = tomlkit.dumps(document)
    else:
        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 1_000_000
        # Block lists indented as the writer did ("  - a" under its key, or "- a").
        if listed := _BLOCK_LIST.search(matter):
            offset = max(0, len(listed["dash"]) - len(listed["key"]))
            yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
        document = yaml.load(matter) or {}
        _patch(document, was, now, toml=False)
        out = io.StringIO()
        yaml.dump(document, out)
        text = out.getvalue()
    return opener + text + rest


def _reads_as(text: str, path: PurePosixPath, wanted: Source) -> bool:
    """Whether importing `text` at `path` gives back the post `wanted` describes."""
    try:
        got = read(text.encode(), path)
    except SourceError:
        return False
    return (
        (got.title, got.slug, got.description, got.draft, got.date, got.page, got.share)
        == (
            wanted.title,
            wanted.slug,
            wanted.description,
            wanted.draft,
            wanted.date,
            wanted.page,
            wanted.share,
        )
        and tag_slugs(got.tags) == tag_slugs(wanted.tags)
        and slugify(got.series) == slugify(wanted.series)
        and got.body == wanted.body
        and got.extra == wanted.extra
        and set(got.redirects) == set(wanted.redirects)
        # A file without `comments:` takes the site's default, whatever it is then.
        and got.comments in (None, wanted.comments)
    )


def file_text(
    post: Post, exported: Source, path: PurePosixPath, render: Callable[[Source], str]
) -> str:
    """The exported file of `post`: its front matter as it came in if it was not edited
    since, else as it came in with only the changed keys changed, else as `render`
    writes it; each only if importing it gives the same post back."""
    head = post.source_head
    if head is not None:
        if post.source_print == fingerprint(post, (tag.slug for tag in post.tags)):
            text = head + exported.body
            if _reads_as(text, path, exported):
                return text
        try:
            was = read((head + exported.body).encode(), path)
            text = patched(head, was, exported) + exported.body
        except (SourceError, ValueError):
            text = ""
        if text and _reads_as(text, path, exported):
            return text
    return render(exported)
