"""One Ghost post or page into the blog, through the same path as a Markdown file.

The body comes from Ghost's `html` when the export has it, else from its Lexical or
mobiledoc JSON (components/ghost/render); either way the HTML becomes Markdown as a
WordPress post's does. Images under Ghost's content/images are taken from the folder
given with --media; nothing is fetched.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from components import importer, people
from components.frontmatter import MAX_TITLE, Source
from components.ghost import render
from components.ghost.export import Post
from components.models import User
from components.text import slugify
from components.wordpress.html import to_markdown

PLACEHOLDER = "__GHOST_URL__"
_IMAGES = "/content/images/"
# Ghost's resized copies: /content/images/size/w600/2024/01/photo.jpg.
_SIZED = re.compile(r"^size/[^/]+/")
_IMAGE_URL = re.compile(
    r"""(?:__GHOST_URL__|https?://[^\s"'()<>]+?)?/content/images/[^\s"'()<>]+"""
)
_CARD = re.compile(r"QUIREMARKDOWN(\d+)X")


@dataclass
class Context:
    options: importer.Options
    media: Path | None  # Ghost's content/images folder
    by_author: bool
    users: dict[str, User | None] = field(default_factory=dict)


def _local(url: str, media: Path | None) -> str | None:
    return importer.uploaded_copy(url.replace(PLACEHOLDER, ""), _IMAGES, media, _SIZED)


def _body(post: Post, media: Path | None, warnings: list[str]) -> str:
    if post.html.strip():
        converted = to_markdown(post.html)
        cards: list[str] = []
    else:
        drawn = render.draw(post.lexical, post.mobiledoc)
        warnings.extend(drawn.left)
        converted = to_markdown(drawn.html)
        cards = drawn.markdown_cards
    warnings.extend(converted.left)
    body = _CARD.sub(lambda match: cards[int(match[1])].strip(), converted.markdown)
    outside = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal outside
        local = _local(match[0], media)
        if local is None:
            outside += 1
            return match[0].replace(PLACEHOLDER, "")
        return local

    body = _IMAGE_URL.sub(swap, body).replace(PLACEHOLDER, "")
    if outside:
        hint = "" if media else " (pass --media with Ghost's content/images folder)"
        warnings.append(f"{outside} image address(es) left pointing outside{hint}")
    return body


def _state(post: Post, warnings: list[str]) -> tuple[bool, datetime | None]:
    """Whether the post comes in as a draft, and its date."""
    if post.visibility != "public":
        warnings.append(f"for {post.visibility} members only in Ghost: kept as a draft here")
        return True, post.published_at
    if post.status == "sent":
        warnings.append("sent by email only in Ghost: kept as a draft here")
        return True, post.published_at
    return post.status not in ("published", "scheduled"), post.published_at


def source_of(post: Post, media: Path | None) -> Source:
    warnings: list[str] = []
    body = _body(post, media, warnings)
    draft, date = _state(post, warnings)
    title = " ".join(post.title.split())[:MAX_TITLE] or f"Untitled ({post.id})"
    extra: dict[str, object] = {"ghost_id": post.id}
    if post.feature_image:
        image = post.feature_image
        extra["image"] = _local(image, media) or image.replace(PLACEHOLDER, "")
        if post.feature_image_alt:
            extra["image_alt"] = post.feature_image_alt
    return Source(
        title=title,
        slug=slugify(post.slug) or slugify(title) or f"{post.type}-{post.id}",
        body=body,
        description=" ".join(post.excerpt.split()),
        tags=post.tags,
        draft=draft,
        date=date,
        extra=extra,
        warnings=tuple(warnings),
        page=post.type == "page",
        modified=post.updated_at,
    )


async def import_post(
    session: AsyncSession, post: Post, context: Context, *, undated: datetime
) -> importer.Imported:
    """Create or update the post or page `post` describes; flushed, not committed."""
    options = context.options
    if context.by_author and post.authors:
        first = post.authors[0]
        if first.email not in context.users:
            context.users[first.email] = await people.imported_author(
                session, first.email, first.name
            )
        options = replace(options, author=context.users[first.email])
    source = await asyncio.to_thread(source_of, post, context.media)
    file = (context.media or Path.cwd()) / ".ghost"
    return await importer.import_source(session, source, file, options, undated=undated)
