"""One WordPress item (post or page) into the blog, with its author, images and comments.

The item becomes the same `Source` a Markdown file gives, so that components/importer
finds it again by slug, stores its images and keeps its former addresses; what a
Markdown file cannot carry (the author's account, the comments in their threads) is
added here in the same transaction.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from components import importer, people
from components.comments import markup
from components.frontmatter import MAX_TITLE, Source
from components.models import Comment, CommentStatus, Post, User, utcnow
from components.text import slugify
from components.wordpress import wxr
from components.wordpress.html import to_markdown

# Items that are posts or pages; attachments, menus, revisions and blocks are not.
KINDS = frozenset({"post", "page"})
SKIPPED_STATUSES = frozenset({"trash", "auto-draft", "inherit"})
DRAFT_STATUSES = frozenset({"draft", "pending", "private"})
_COMMENT_STATUS = {
    "1": CommentStatus.APPROVED,
    "0": CommentStatus.PENDING,
    "spam": CommentStatus.SPAM,
}
_UPLOADS = "/wp-content/uploads/"
# WordPress's resized copies: photo-300x200.jpg beside photo.jpg.
_RESIZED = re.compile(r"-\d+x\d+(?=\.\w+$)")
_URL = re.compile(r"""https?://[^\s"'<>()\[\]]+""")


@dataclass
class Context:
    """What every item of one export shares."""

    export: wxr.Export
    options: importer.Options
    attachments: Mapping[int, str]  # attachment id: its file's address
    media: Path | None  # the uploads folder given with --media
    by_author: bool  # False: --author chose one account for every post
    users: dict[str, User] = field(default_factory=dict)


@dataclass
class Done:
    imported: importer.Imported
    comments: int = 0


def _local(url: str, media: Path | None) -> str | None:
    return importer.uploaded_copy(url, _UPLOADS, media, _RESIZED)


def _localised(body: str, media: Path | None, warnings: list[str]) -> str:
    """The body with its uploads' addresses turned into paths under the uploads folder,
    which the importer then stores; addresses on other hosts are told, never fetched."""
    outside = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal outside
        url = match[0]
        local = _local(url, media)
        if local is not None:
            return local
        if _UPLOADS in url:
            outside += 1
        return url

    body = _URL.sub(swap, body)
    if outside:
        hint = "" if media else " (pass --media with the uploads folder)"
        warnings.append(f"{outside} uploaded file address(es) left pointing outside{hint}")
    return body


def _former(item: wxr.Item, site_url: str) -> tuple[str, ...]:
    """The addresses WordPress gave the item: `?p=ID` (or `?page_id=ID`) and its link."""
    query = "page_id" if item.type == "page" else "p"
    paths = [f"/?{query}={item.id}"]
    link = urlsplit(item.link)
    site = urlsplit(site_url)
    if link.path and link.path != "/" and (not site.netloc or link.netloc == site.netloc):
        path = link.path if not link.query else f"{link.path}?{link.query}"
        paths.append(path)
    return tuple(dict.fromkeys(paths))


def source_of(item: wxr.Item, context: Context) -> Source:
    """The item as the Source a Markdown file would give."""
    converted = to_markdown(item.content)
    warnings = [f"{what}" for what in converted.left]
    body = _localised(converted.markdown, context.media, warnings)
    title = " ".join(item.title.split())[:MAX_TITLE] or f"Untitled ({item.id})"
    slug = slugify(unquote(item.slug)) or slugify(title) or f"{item.type}-{item.id}"
    extra: dict[str, object] = {"wordpress_id": item.id}
    thumbnail = item.meta.get("_thumbnail_id", "")
    if thumbnail.isdigit() and (url := context.attachments.get(int(thumbnail))):
        extra["image"] = _local(url, context.media) or url
    description = " ".join(to_markdown(item.excerpt).markdown.split()) if item.excerpt else ""
    tags = tuple(name for name in (*item.categories, *item.tags) if name != "Uncategorized")
    return Source(
        title=title,
        slug=slug,
        body=body,
        description=description,
        tags=tags,
        draft=item.status in DRAFT_STATUSES,
        date=item.date,
        comments=item.comment_status == "open",
        redirects=_former(item, context.export.site_url),
        extra=extra,
        warnings=tuple(warnings),
        page=item.type == "page",
        modified=item.modified,
    )


async def _author(session: AsyncSession, login: str, context: Context) -> User | None:
    """The account for an item's author (see people.imported_author)."""
    if login not in context.users:
        known = context.export.authors.get(login)
        if known is None:
            return None
        user = await people.imported_author(session, known.email, known.name or login)
        if user is None:
            return None
        context.users[login] = user
    return context.users[login]


def _is_comment(comment: wxr.Comment) -> bool:
    """A reader's comment: not a pingback or trackback (another site's notice)."""
    return comment.type not in ("pingback", "trackback")


# The largest id a BIGINT column holds; WordPress's are unsigned 64-bit numbers.
_MAX_ID = 2**63 - 1


@dataclass
class _Known:
    """The post's comments already in the blog: by their WordPress id, and by who wrote
    them when (comments imported before ids were kept have none)."""

    by_id: dict[int, int] = field(default_factory=dict)
    by_moment: dict[tuple[datetime, str], tuple[int, int | None]] = field(default_factory=dict)


async def _known(session: AsyncSession, post_id: int | None) -> _Known:
    known = _Known()
    if post_id is None:
        return known
    columns = (Comment.id, Comment.created_at, Comment.author_name, Comment.wordpress_id)
    query = select(*columns).where(Comment.post_id == post_id)
    for comment_id, when, name, wordpress_id in await session.execute(query):
        known.by_moment[(when, name)] = (comment_id, wordpress_id)
        if wordpress_id is not None:
            known.by_id[wordpress_id] = comment_id
    return known


async def _comments(
    session: AsyncSession, post_id: int | None, item: wxr.Item, *, dry_run: bool
) -> int:
    """Add the item's comments not added before, replies under their parents (on a dry
    run, or for a post a dry run did not make, count them).

    A comment is known again by its WordPress id, or (added before ids were kept) by its
    author and moment, and then given its id. So a reply finds its parent when the parent
    came in with an earlier import, or from an earlier export file, as well as this one.
    """
    known = await _known(session, post_id)
    made: dict[int, Comment | int] = {}
    remembered: dict[int, int] = {}  # comment id: the WordPress id it lacked
    added = 0
    for wanted in sorted(item.comments, key=lambda c: (c.parent != 0, c.id)):
        status = _COMMENT_STATUS.get(wanted.approved)
        if status is None or not _is_comment(wanted):
            continue
        created = wanted.date or utcnow()
        name = " ".join(wanted.author.split())[:100] or "Anonymous"
        wordpress_id = wanted.id if 0 < wanted.id <= _MAX_ID else None
        if wordpress_id is not None and wordpress_id in known.by_id:
            made[wordpress_id] = known.by_id[wordpress_id]
            continue
        if (created, name) in known.by_moment:
            comment_id, had = known.by_moment[(created, name)]
            if wordpress_id is not None:
                made[wordpress_id] = comment_id
                if had is None:
                    remembered[comment_id] = wordpress_id
            continue
        if dry_run or post_id is None:
            added += 1
            continue
        body = to_markdown(wanted.content).markdown.strip() or "…"
        url = wanted.url if urlsplit(wanted.url).scheme in ("http", "https") else ""
        comment = Comment(
            post_id=post_id,
            author_name=name,
            author_url=url[:300],
            body=body,
            body_html=markup.render(body),
            status=status,
            created_at=created,
            ip=wanted.ip[:45],
            wordpress_id=wordpress_id,
        )
        parent = made.get(wanted.parent) or known.by_id.get(wanted.parent)
        if isinstance(parent, Comment):
            comment.parent = parent
        elif parent is not None:
            comment.parent_id = parent
        session.add(comment)
        if wordpress_id is not None:
            made[wordpress_id] = comment
        added += 1
    if remembered and not dry_run:
        await session.execute(
            update(Comment),
            [{"id": comment_id, "wordpress_id": wp} for comment_id, wp in remembered.items()],
        )
    await session.flush()
    return added


async def import_item(
    session: AsyncSession, item: wxr.Item, context: Context, *, undated: datetime
) -> Done:
    """Create or update the post or page `item` describes, with its author and comments.

    Flushed, not committed; raises importer.Refused as a Markdown file's import does.
    """
    options = context.options
    if context.by_author:
        options = replace(options, author=await _author(session, item.creator, context))
    # Converting the HTML and looking for the uploads is work for a thread.
    source = await asyncio.to_thread(source_of, item, context)
    file = (context.media or Path.cwd()) / ".wordpress"
    imported = await importer.import_source(session, source, file, options, undated=undated)
    done = Done(imported)
    post_id = await session.scalar(select(Post.id).where(Post.slug == imported.slug))
    done.comments = await _comments(session, post_id, item, dry_run=options.dry_run)
    return done
