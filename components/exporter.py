"""Every post out as Jekyll-compatible Markdown with front matter, with the media it uses.

The layout is Jekyll's: `_posts/YYYY-MM-DD-slug.md` for posts with a date,
`_drafts/slug.md` for drafts without one, `slug.md` with `layout: page` for pages,
every file of the media library under `assets/media/` by its library name (those no
post shows too: the logo, the icon, avatars), and what the library knows of them in
`_data/quire_media.yml` (components/media/backup). Importing the folder into an empty
Quire gives the same posts, pages, tags, dates, switches, redirects and media
(components/importer).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload, undefer

from components import kept_matter, site_backup
from components.comments import backup
from components.frontmatter import DESCRIPTION_STAND_INS, Source
from components.media import backup as library_backup
from components.media.backup import MANIFEST, MEDIA_FOLDER
from components.media.library import for_body
from components.media.names import file_name
from components.models import Media, Post, PostKind, PostStatus, Redirect

_BATCH = 200


def file_path(post: Source) -> PurePosixPath:
    """Where a post goes in the export; a page, at the site's top, as Jekyll keeps them."""
    if post.page:
        return PurePosixPath(f"{post.slug}.md")
    if post.date is None:
        return PurePosixPath("_drafts") / f"{post.slug}.md"
    return PurePosixPath("_posts") / f"{post.date.astimezone(UTC):%Y-%m-%d}-{post.slug}.md"


def jekyll_date(moment: datetime) -> str:
    """`2023-09-29 10:00:00 +0000`, as Jekyll writes dates (to the microsecond if need be)."""
    moment = moment.astimezone(UTC)
    fraction = f".{moment.microsecond:06d}" if moment.microsecond else ""
    return f"{moment:%Y-%m-%d %H:%M:%S}{fraction} +0000"


def render_file(post: Source) -> str:
    """The Markdown file for a post: YAML front matter, then the body as written."""
    matter: dict[str, Any] = {"title": post.title, "slug": post.slug}
    if post.page:
        # What makes Jekyll serve it as a page at its address, and Quire read it as one.
        matter["layout"] = "page"
        matter["permalink"] = f"/{post.slug}/"
    if post.date is not None:
        matter["date"] = jekyll_date(post.date)
    # An empty one is written too when a kept `summary` or `excerpt` would stand in for
    # a missing one on import.
    if post.description or any(key.lower() in DESCRIPTION_STAND_INS for key in post.extra):
        matter["description"] = post.description
    if post.tags:
        matter["tags"] = list(post.tags)
    if post.series:
        matter["series"] = post.series
    matter["comments"] = post.comments
    matter["share"] = post.share
    if post.draft:
        matter["published"] = False
    if post.redirects:
        matter["redirect_from"] = list(post.redirects)
    for key, value in post.extra.items():
        matter[key] = _as_yaml(value)
    front = yaml.dump(
        matter,
        Dumper=_FrontMatterDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,
    )
    return f"---\n{front}---\n\n{post.body}"


class _FrontMatterDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, but a string holding NEL (U+0085) is double-quoted.

    YAML reads NEL as a line break, and the emitter leaves it as it is inside plain and
    single-quoted scalars, where a reader folds it into a space; only double quotes
    escape it (as "\\N"), so that the value comes back as it was.
    """


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if "\x85" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_FrontMatterDumper.add_representer(str, _represent_text)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}:\d{2})?")


def data_file(value: Any) -> str:
    """A `_data/` file's YAML, written so that every string reads back as it was."""
    return yaml.dump(
        value, Dumper=_FrontMatterDumper, sort_keys=False, allow_unicode=True, width=1_000_000
    )


def _as_yaml(value: Any) -> Any:
    """A kept front matter value as it was written: a date stored as ISO text is a date again."""
    if isinstance(value, dict):
        return {key: _as_yaml(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_yaml(item) for item in value]
    if isinstance(value, str):
        try:
            if _ISO_DATE.fullmatch(value):
                return date.fromisoformat(value)
            if _ISO_DATETIME.fullmatch(value):
                moment = datetime.fromisoformat(value)
                if moment.isoformat() == value:
                    return moment
        except ValueError:
            pass
    return value


@dataclass(frozen=True)
class Summary:
    posts: int
    drafts: int
    media: int
    comments: int = 0


async def _posts(session: AsyncSession) -> AsyncIterator[list[Post]]:
    """Every post with its tags, a batch at a time, in id order."""
    after = 0
    while True:
        batch = (
            await session.scalars(
                select(Post)
                .where(Post.id > after)
                .order_by(Post.id)
                .limit(_BATCH)
                .options(
                    selectinload(Post.tags),
                    joinedload(Post.series),
                    undefer(Post.source_head),
                    undefer(Post.source_print),
                )
            )
        ).all()
        if not batch:
            return
        yield list(batch)
        after = batch[-1].id


async def export(
    session: AsyncSession,
    folder: Path,
    *,
    media_url: Callable[[Media], str],
    progress: Callable[[str], None] = lambda _path: None,
) -> Summary:
    """Write the blog into `folder`, which must not exist yet or be empty.

    The files are written into a temporary folder beside it and moved into place at
    the end, so an interrupted export leaves no half-written folder behind.
    """
    staging = await asyncio.to_thread(_stage, folder)
    try:
        summary = await _write_all(session, staging, media_url, progress)
        await asyncio.to_thread(_publish, staging, folder)
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, staging, ignore_errors=True)
        raise
    return summary


async def _write_all(
    session: AsyncSession,
    staging: Path,
    media_url: Callable[[Media], str],
    progress: Callable[[str], None],
) -> Summary:
    redirects: dict[int, list[str]] = {}
    for post_id, path in await session.execute(
        select(Redirect.post_id, Redirect.path).order_by(Redirect.path)
    ):
        redirects.setdefault(post_id, []).append(path)
    posts = drafts = 0
    async for batch in _posts(session):
        for post in batch:
            # A cover image (`image: ...`) is kept in the front matter, not in the body.
            mentions = f"{post.body}\n{json.dumps(post.front_matter or {})}"
            shown = {item.sha256: item for item in await for_body(session, mentions)}
            exported = _exported(post, redirects.get(post.id, []), shown.values(), media_url)
            relative = file_path(exported)
            text = kept_matter.file_text(post, exported, relative, render_file)
            await asyncio.to_thread(_write, staging / relative, text)
            progress(str(relative))
            posts += 1
            drafts += exported.draft
    # The whole library, not only what posts show: a file's bytes are read one at a time.
    items = await library_backup.library(session)
    for item in items:
        data = await library_backup.data_of(session, item)
        name = file_name(item.sha256, item.content_type)
        await asyncio.to_thread(_write_bytes, staging / MEDIA_FOLDER / name, data)
    if items:
        text = data_file(library_backup.manifest(items))
        await asyncio.to_thread(_write, staging / MANIFEST, text)
    threads = await backup.dump(session)
    if threads:
        text = data_file(threads)
        await asyncio.to_thread(_write, staging / backup.COMMENTS_FILE, text)
    comments = sum(len(entries) for entries in threads.values())
    if everyone := await site_backup.dump_people(session):
        text = data_file(everyone)
        await asyncio.to_thread(_write, staging / site_backup.PEOPLE_FILE, text)
    if (settings := await site_backup.dump_settings(session)) is not None:
        text = data_file(settings)
        await asyncio.to_thread(_write, staging / site_backup.SETTINGS_FILE, text)
    return Summary(posts=posts, drafts=drafts, media=len(items), comments=comments)


def _exported(
    post: Post, redirects: list[str], shown: Any, media_url: Callable[[Media], str]
) -> Source:
    # The library's addresses become the files' places in the export, from the site root.
    moves = {
        media_url(item): f"/{MEDIA_FOLDER / file_name(item.sha256, item.content_type)}"
        for item in shown
    }

    def moved(text: str) -> str:
        for old, new in moves.items():
            text = text.replace(old, new)
        return text

    return Source(
        title=post.title,
        slug=post.slug,
        body=moved(post.body),
        description=post.description,
        tags=tuple(tag.name for tag in post.tags),
        series=post.series.name if post.series else "",
        draft=post.status is PostStatus.DRAFT,
        date=post.published_at,
        comments=post.comments_enabled,
        share=post.share_enabled,
        redirects=tuple(redirects),
        page=post.kind is PostKind.PAGE,
        extra={
            key: moved(value) if isinstance(value, str) else value
            for key, value in (post.front_matter or {}).items()
        },
    )


def _stage(folder: Path) -> Path:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise FileExistsError(f"{folder} is not an empty folder: export into a new one")
    folder.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))


def _publish(staging: Path, folder: Path) -> None:
    if folder.exists():
        folder.rmdir()  # empty, as _stage found it
    os.replace(staging, folder)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def _write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
