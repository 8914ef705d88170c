"""Bring a post read from a Markdown file (components/frontmatter) into the blog.

A file's post is found again by its slug, so importing the same files twice updates
in place and the second run changes nothing. Images the Markdown shows by a local
path are stored in the media library and the links rewritten to it. The caller owns
the transaction: one file, one commit, so a post is never half-imported.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from markdown_it import MarkdownIt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload, undefer

from components import kept_matter, tag_targets, template_tags, yaml_limits
from components.frontmatter import Source
from components.markdown import Picture
from components.media.backup import MANIFEST as MEDIA_MANIFEST
from components.media.library import pictures, store, stored_hash
from components.media.names import MAX_ALT_TEXT_LENGTH
from components.media.refusals import MediaError
from components.models import Media, Post, PostKind, PostStatus, Redirect, User, utcnow
from components.posts import post_status_label, status_label
from components.render_pool import RenderRefused
from components.saving import Content, write
from components.text import slugify

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})


@dataclass(frozen=True)
class Links:
    """The public addresses the web layer gives posts and media (components/ knows none)."""

    post_path: Callable[[Post], str]
    media_url: Callable[[Media], str]
    picture: Callable[[Media], Picture | None]
    # The first segments of the site's own routes, each with a route it serves: a page,
    # at /<slug>, may take none of them.
    taken: Mapping[str, str] = field(default_factory=dict)


class Refused(ValueError):
    """A file the blog cannot take as it is; str() says why and what to change."""


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass
class Imported:
    outcome: Outcome
    slug: str
    images: int = 0  # images added to the library
    warnings: list[str] = field(default_factory=list)


# --- images in the Markdown ---------------------------------------------------

_INLINE_IMAGE = re.compile(
    r"(?P<lead>!\[(?P<alt>(?:[^\]\\\n]|\\.)*)\]\(\s*)(?P<target><[^>\n]*>|[^\s()<>]+)"
)
_REFERENCE = re.compile(r"^(?P<lead> {0,3}\[[^\]\n]+\]:[ \t]*)(?P<target><[^>\n]*>|\S+)", re.M)
_HTML_IMAGE = re.compile(
    r"(?P<lead><img\b[^>]*?\bsrc\s*=\s*(?P<quote>[\"']))(?P<target>[^\"'>]*)(?P=quote)", re.I
)
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*:", re.I)
_LIBRARY_FILE = re.compile(r"[0-9a-f]{64}\.(?:png|jpg|webp|gif)$")
_commonmark = MarkdownIt("commonmark")


@dataclass(frozen=True)
class _Reference:
    target: str  # as written, without <>
    alt: str
    file: Path | None  # None: a local path that leads to no file


def _code_lines(body: str) -> set[int]:
    """The 0-based lines inside fenced or indented code: their text is shown, not followed."""
    lines: set[int] = set()
    for token in _commonmark.parse(body):
        if token.type in {"fence", "code_block"} and token.map:
            lines.update(range(*token.map))
    return lines


def _matches(body: str) -> Iterable[tuple[re.Match[str], bool]]:
    """Every image-like reference outside code, and whether it must be an image file."""
    found = [
        (match, images_only)
        for pattern, images_only in (
            (_INLINE_IMAGE, False),
            (_HTML_IMAGE, False),
            (_REFERENCE, True),
        )
        for match in pattern.finditer(body)
    ]
    # Most posts show no image: parse for code blocks only when there is something to check.
    code = _code_lines(body) if found else set()
    for match, images_only in found:
        if body.count("\n", 0, match.start()) not in code:
            yield match, images_only


def _is_local(target: str) -> bool:
    return bool(target) and not (_SCHEME.match(target) or target.startswith(("//", "#")))


def _find_file(target: str, source: Path, root: Path) -> Path | None:
    """The file a local image address names: relative to the post's folder, or, for a
    site-root path (`/assets/a.png`), under the first folder above it that has it, or
    that folder's `static/` (Hugo). Only ever a file under `root`, the folder being
    imported: a post cannot bring `../../secret.png` or `/etc/...` into the public
    library (links and `..` are followed before the check)."""
    clean = unquote(target.split("#")[0].split("?")[0])
    if not clean or "\0" in clean:
        return None
    if not clean.startswith("/"):
        return inside(source.parent / clean, root)
    relative = clean.lstrip("/")
    folder = source.parent.resolve()
    for ancestor in (folder, *folder.parents):
        if not ancestor.is_relative_to(root):
            break
        for base in (ancestor, ancestor / "static"):
            if (found := inside(base / relative, root)) is not None:
                return found
    return None


def inside(candidate: Path, root: Path) -> Path | None:
    """`candidate`, when it is a file under `root` (a resolved path) once resolved."""
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError):  # a link loop, a name too long
        return None
    return resolved if resolved.is_relative_to(root) and resolved.is_file() else None


def root_of(file: Path, roots: Sequence[Path]) -> Path:
    """The imported folder `file` was found in, or its own folder when given alone."""
    resolved = file.resolve()
    for root in roots:
        if resolved.is_relative_to(root):
            return root
    return resolved.parent


def uploaded_copy(
    url: str, marker: str, folder: Path | None, resized: re.Pattern[str]
) -> str | None:
    """Where, under `folder`, the file an export's upload address names is (the part
    after `marker`), or the original a resized copy's name points to; None if neither is
    there (blocking: it looks at the disk)."""
    if folder is None or marker not in url:
        return None
    relative = unquote(urlsplit(url).path.split(marker, 1)[1]).lstrip("/")
    if not relative or "\0" in relative:
        return None
    root = folder.resolve()
    for candidate in (relative, resized.sub("", relative)):
        if inside(folder / candidate, root) is not None:
            return candidate
    return None


def find_images(
    body: str, source: Path, cover: str | None = None, roots: Sequence[Path] = ()
) -> list[_Reference]:
    """The local images a post shows, found under the folder of `roots` it came from (or
    its own folder; blocking: it looks at the disk)."""
    root = root_of(source, roots)
    found: dict[str, _Reference] = {}
    candidates = [(m["target"], m.groupdict().get("alt") or "", only) for m, only in _matches(body)]
    if cover:
        candidates.append((cover, "", False))
    for written, alt, images_only in candidates:
        target = written.removeprefix("<").removesuffix(">")
        if target in found or not _is_local(target):
            continue
        is_image = Path(unquote(target.split("?")[0])).suffix.lower() in IMAGE_SUFFIXES
        if images_only and not is_image:
            continue  # a reference definition for a link, not an image
        file = _find_file(target, source, root)
        if file is None and _LIBRARY_FILE.search(target.split("?")[0]):
            continue  # already an address in a media library (Quire's own `/media/...`)
        found[target] = _Reference(target, alt.replace("\\", ""), file)
    return list(found.values())


def _rewrite(body: str, urls: dict[str, str]) -> str:
    """The body with each image address in `urls` replaced (code left as it is)."""
    if not urls:
        return body
    pieces: list[tuple[int, int, str]] = []
    for match, _ in _matches(body):
        target = match["target"].removeprefix("<").removesuffix(">")
        if target in urls:
            pieces.append((match.start("target"), match.end("target"), urls[target]))
    out, at = [], 0
    for start, end, url in sorted(pieces):
        out.append(body[at:start])
        out.append(url)
        at = end
    out.append(body[at:])
    return "".join(out)


def _manifest_entry(file: Path, cache: dict[Path, dict[str, Any]]) -> dict[str, Any]:
    """What an export's manifest says of an image (its name and alt text), if anything."""
    for ancestor in file.resolve().parents:
        manifest = ancestor / MEDIA_MANIFEST
        if manifest not in cache:
            cache[manifest] = _load_manifest(manifest)
        if entry := cache[manifest].get(file.name):
            return entry
    return {}


def _load_manifest(manifest: Path) -> dict[str, Any]:
    if not manifest.is_file():
        return {}
    try:
        entries = yaml_limits.safe_load(manifest.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(entries, list):
        return {}
    return {
        str(entry["file"]): entry
        for entry in entries
        if isinstance(entry, dict) and "file" in entry
    }


# --- the post -------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    links: Links
    media_folder: Path
    max_image_bytes: int
    author: User | None = None
    # For a file without `comments:` (the site's setting for new posts).
    comments_default: bool = True
    dry_run: bool = False
    # Caches the export manifests found while importing (see _manifest_entry).
    manifests: dict[Path, dict[str, Any]] = field(default_factory=dict)
    # A dry run's images that the library lacks, by hash: each is counted once.
    planned: set[str] = field(default_factory=set)
    # The folders being imported, resolved: images are only ever read from under them.
    roots: tuple[Path, ...] = ()
    # What template tags need from the disk, kept from file to file (set from `roots`).
    files: tag_targets.Files = field(default_factory=tag_targets.Files)

    def __post_init__(self) -> None:
        self.files.roots = self.roots


async def _images(
    session: AsyncSession, references: Sequence[_Reference], options: Options, imported: Imported
) -> dict[str, str]:
    """Store the images the post shows; their addresses' new URLs."""
    urls: dict[str, str] = {}
    for reference in references:
        if reference.file is None:
            imported.warnings.append(
                f"image {reference.target!r} not found in the imported folder; its link is kept"
            )
            continue
        try:
            data = await asyncio.to_thread(reference.file.read_bytes)
        except OSError as error:
            imported.warnings.append(f"image {reference.target!r} unreadable ({error.strerror})")
            continue
        # A clean file keeps its own hash in the library: found without decoding it.
        stored = await _library_file(session, hashlib.sha256(data).hexdigest())
        if stored is None:
            # Any other file is found by the hash its cleaned copy was given.
            try:
                hashed = await stored_hash(data, max_bytes=options.max_image_bytes, keep_clean=True)
            except MediaError as error:
                imported.warnings.append(f"image {reference.target!r} refused: {error}")
                continue
            stored = await _library_file(session, hashed)
        if stored is None and options.dry_run:
            if hashed not in options.planned:
                options.planned.add(hashed)
                imported.images += 1
            urls[reference.target] = f"(new image {reference.file.name})"
            continue
        if stored is None:
            entry = await asyncio.to_thread(_manifest_entry, reference.file, options.manifests)
            try:
                stored = await store(
                    session,
                    data,
                    filename=str(entry.get("filename") or reference.file.name),
                    owner=options.author,
                    max_bytes=options.max_image_bytes,
                    folder=options.media_folder,
                    alt_text=str(entry.get("alt") or reference.alt)[:MAX_ALT_TEXT_LENGTH],
                    keep_clean=True,
                )
            except MediaError as error:
                imported.warnings.append(f"image {reference.target!r} refused: {error}")
                continue
            imported.images += 1
        urls[reference.target] = options.links.media_url(stored)
    return urls


async def _library_file(session: AsyncSession, sha256: str) -> Media | None:
    return await session.scalar(select(Media).where(Media.sha256 == sha256))


def _status(
    source: Source, existing: Post | None, undated: datetime
) -> tuple[PostStatus, datetime | None]:
    if source.draft:
        return PostStatus.DRAFT, source.date
    when = source.date or (existing.published_at if existing else None) or undated
    return (PostStatus.PUBLISHED if when <= utcnow() else PostStatus.SCHEDULED), when


# What must be equal for an import to leave a post unchanged (its slug found it; its status
# and tags are compared as the reader sees them, below).
_COMPARED = (
    "title",
    "description",
    "body",
    "published_at",
    "comments_enabled",
    "share_enabled",
    "front_matter",
)


# A post's address (/2023/09/29/slug) and a page's (/slug), as the web layer makes them.
_POST_ADDRESS = re.compile(r"/\d{4}/\d{2}/\d{2}/([^/?#]+)/?")
_PAGE_ADDRESS = re.compile(r"/([^/?#]+)/?")


async def _free_addresses(
    session: AsyncSession,
    paths: Sequence[str],
    post: Post | None,
    taken: Mapping[str, str],
    imported: Imported,
) -> list[str]:
    """The former addresses in `paths` that may lead to `post`: not one of the site's own
    routes, not another post's address or former address. Each refused one is named."""
    free = []
    for path in paths:
        reason = await _taken_by(session, path, post.id if post else None, taken)
        if reason is None:
            free.append(path)
        else:
            imported.warnings.append(f"former address {path!r} not kept: {reason}")
    return free


async def _taken_by(
    session: AsyncSession, path: str, post_id: int | None, taken: Mapping[str, str]
) -> str | None:
    """Why `path` cannot lead to the post `post_id`, or None when it can."""
    owner = await session.scalar(select(Redirect.post_id).where(Redirect.path == path))
    if owner is not None and owner != post_id:
        title = await session.scalar(select(Post.title).where(Post.id == owner))
        return f"it already leads to “{title}”"
    if "?" in path:  # /?p=12: the query is the address; the home page has no other use of it
        return None
    first = path.strip("/").split("/")[0]
    if not first:
        return "it is the home page"
    if first in taken:
        return f"it is the site's own (it serves {taken[first]})"
    if (match := _POST_ADDRESS.fullmatch(path)) is not None:
        found = select(Post.title).where(Post.slug == match[1], Post.kind == PostKind.POST)
    elif (match := _PAGE_ADDRESS.fullmatch(path)) is not None:
        found = select(Post.title).where(Post.slug == match[1], Post.kind == PostKind.PAGE)
    else:
        return None
    if post_id is not None:
        found = found.where(Post.id != post_id)
    title = await session.scalar(found)
    return None if title is None else f"it is the address of “{title}”"


def _refuse_nul(source: Source) -> None:
    """PostgreSQL stores no NUL in text and SQLite keeps it, so a post with one would
    move between them only once: it is refused on both (a Ghost or WordPress export can
    carry one where a Markdown file cannot)."""
    fields = {
        "title": source.title,
        "slug": source.slug,
        "description": source.description,
        "text": source.body,
        "tags": " ".join(source.tags),
        "series": source.series,
    }
    for name, value in fields.items():
        if "\0" in value:
            raise Refused(f"its {name} holds a NUL character, which no database here can store")


async def _take_address(
    session: AsyncSession, address: str, post: Post | None, imported: Imported
) -> None:
    """A post's own address is no longer another's former one (a file imported earlier
    may have named it): the post answers there, so the old redirect is dropped, and said."""
    former = await session.scalar(select(Redirect).where(Redirect.path == address))
    if former is None or (post is not None and former.post_id == post.id):
        return
    title = await session.scalar(select(Post.title).where(Post.id == former.post_id))
    imported.warnings.append(f"{address} was a former address of “{title}”; it is this one's now")
    await session.delete(former)


def _same(post: Post, content: Content) -> bool:
    return (
        all(getattr(post, name) == getattr(content, name) for name in _COMPARED)
        and (content.source_head is None or post.source_head == content.source_head)
        and post_status_label(post) == status_label(content.status, content.published_at)
        and {tag.slug for tag in post.tags} == {slugify(name) for name in content.tags}
        and (post.series.slug if post.series else "") == slugify(content.series or "")
    )


def _convert_tags(body: str, head: str, file: Path, options: Options) -> template_tags.Converted:
    """The body's template tags converted, as its generator reads them (blocking: it
    looks at the disk for the generator's settings and for linked files)."""
    return template_tags.convert(
        body,
        first_line=head.count("\n") + 1,
        hugo=options.files.is_hugo(file, head),
        slug_of=options.files.slugs_for(file),
    )


async def import_source(
    session: AsyncSession, source: Source, file: Path, options: Options, *, undated: datetime
) -> Imported:
    """Create or update the post `source` describes; `undated` is its date if it gives none.

    Flushed, not committed (unless nothing changes, when nothing is written at all).
    """
    if source.head is not None:
        # A Jekyll or Hugo file: its template tags become Markdown, the rest are named.
        tags = await asyncio.to_thread(_convert_tags, source.body, source.head, file, options)
        source = replace(source, body=tags.body, warnings=source.warnings + tags.warnings)
    _refuse_nul(source)
    imported = Imported(Outcome.UNCHANGED, source.slug, warnings=list(source.warnings))
    kind = PostKind.PAGE if source.page else PostKind.POST
    if kind is PostKind.PAGE and source.slug in options.links.taken:
        raise Refused(
            f"its address /{source.slug} is the site's own (it serves "
            f"{options.links.taken[source.slug]}); give it another 'slug:'"
        )
    existing = await session.scalar(
        select(Post)
        .where(Post.slug == source.slug)
        .options(selectinload(Post.tags), joinedload(Post.series), undefer(Post.source_head))
        .execution_options(populate_existing=True)
    )
    if existing is not None and existing.kind is not kind:
        raise Refused(
            f"the blog's '{source.slug}' is a {existing.kind.value} and this file is a "
            f"{kind.value}; give one of them another 'slug:'"
        )
    references = await asyncio.to_thread(
        find_images, source.body, file, source.image, options.roots
    )
    urls = await _images(session, references, options, imported)
    extra = {
        key: urls.get(value, value) if key.lower() == "image" and isinstance(value, str) else value
        for key, value in source.extra.items()
    }
    status, published_at = _status(source, existing, undated)
    content = Content(
        title=source.title,
        slug=source.slug,
        description=source.description,
        body=_rewrite(source.body, urls),
        tags=source.tags,
        series=source.series,
        status=status,
        published_at=published_at,
        comments_enabled=options.comments_default if source.comments is None else source.comments,
        share_enabled=source.share,
        front_matter=extra,
        kind=kind,
        # Feeds and search engines must not take a 2023 post for news: a file's own
        # `lastmod` says when it changed, else a new post changed when it was published.
        updated_at=source.modified or (published_at if existing is None else None),
        source_head=source.head,
    )
    # The post's own address is no former one (a permalink may name it).
    canonical = (
        options.links.post_path(Post(slug=source.slug, published_at=published_at, kind=kind))
        if published_at is not None
        else None
    )
    known = {canonical}
    if existing is not None:
        known.update(
            await session.scalars(select(Redirect.path).where(Redirect.post_id == existing.id))
        )
    new_redirects = await _free_addresses(
        session, sorted(set(source.redirects) - known), existing, options.links.taken, imported
    )
    if existing is not None and not new_redirects and _same(existing, content):
        return imported
    imported.outcome = Outcome.CREATED if existing is None else Outcome.UPDATED
    if options.dry_run:
        return imported
    if canonical is not None:
        await _take_address(session, canonical, existing, imported)

    shown = await pictures(
        session, content.body, url=options.links.media_url, picture=options.links.picture
    )
    if content.source_head is not None:
        content = replace(content, source_print=kept_matter.fingerprint_of(content))
    try:
        await write(
            session,
            existing,
            content,
            author=options.author,
            pictures=shown,
            address=options.links.post_path,
            former_addresses=new_redirects,
        )
    except RenderRefused as refused:
        raise Refused(f"not imported: {refused}") from None
    return imported
