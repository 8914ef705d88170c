"""Writing a post: the one place its content is set, for the editor, the importer and the demo.

A write sets the text, the HTML and table of contents rendered from it, the tags, the
address and dates, keeps a published post's former address answering, and records the
revision. What is checked before (the editor's conflicts, an import's "unchanged") stays
with the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components import markdown, render_pool, revisions, series
from components.models import (
    Post,
    PostKind,
    PostStatus,
    Redirect,
    RevisionKind,
    Tag,
    User,
    utcnow,
)
from components.posts import is_public
from components.text import slugify


@dataclass(frozen=True)
class Content:
    """What a post says and when it shows, as it is to be stored (already checked)."""

    title: str
    slug: str
    body: str
    description: str = ""
    tags: Sequence[str] = ()
    status: PostStatus = PostStatus.DRAFT
    published_at: datetime | None = None
    comments_enabled: bool = False
    share_enabled: bool = True
    # Only read when the post is made: a post stays a post, a page a page.
    kind: PostKind = PostKind.POST
    # The front matter keys Quire has no field for (an import's); None leaves them as they are.
    front_matter: dict[str, Any] | None = None
    # When the text last changed, when that is not now (an imported file's `lastmod`).
    updated_at: datetime | None = None
    # The series the post is a part of ("" for none); None leaves it as it is.
    series: str | None = None
    # An imported file's front matter as written (components/kept_matter); None keeps it.
    source_head: str | None = None
    source_print: str | None = None


async def write(
    session: AsyncSession,
    post: Post | None,
    content: Content,
    *,
    author: User | None,
    revision: RevisionKind | None = RevisionKind.SAVE,
    pictures: Mapping[str, markdown.Picture] | None = None,
    address: Callable[[Post], str] | None = None,
    former_addresses: Iterable[str] = (),
    editor: str | None = None,
) -> Post:
    """Write `content` to `post`, or to a new post by `author`; flushed, not committed.

    The Markdown is rendered now so that readers never wait for it; `pictures` are the
    sizes of the library images it shows. `address` gives a visible post's public path,
    so that a published post whose address changes (new slug, new date) keeps answering
    at the old one with a 301; `former_addresses` answer for it too. The text is kept as
    a revision of kind `revision` by `author` (None: no revision, as for the demo's
    sample posts). `editor` names the open editor that saves (see Post.last_editor).
    A post saved meanwhile by someone else raises StaleDataError from the flush; a text
    that cannot be rendered within the renderer's limits raises RenderRefused, before
    anything is changed.
    """
    rendered = await render_pool.render(content.body, pictures)
    tags = await tags_named(session, content.tags)
    was_at = address(post) if address and post is not None and is_public(post) else None
    if post is None:
        post = Post(author=author, tags=[], kind=content.kind)
        session.add(post)
    post.title = content.title
    post.slug = content.slug
    post.description = content.description
    post.body = content.body
    set_content(post, rendered, tags)
    if content.series is not None:
        post.series = await series.named(session, content.series)
    post.comments_enabled = content.comments_enabled
    post.share_enabled = content.share_enabled
    post.status = content.status
    post.published_at = content.published_at
    if content.front_matter is not None:
        post.front_matter = content.front_matter
    if content.source_head is not None:
        post.source_head = content.source_head
        post.source_print = content.source_print
    if editor is not None:
        post.last_editor = editor
    post.updated_at = content.updated_at or utcnow()
    await session.flush()
    if address and was_at is not None and is_public(post) and address(post) != was_at:
        await keep_address(session, was_at, post)
    for path in former_addresses:
        await keep_address(session, path, post)
    if revision is not None:
        await revisions.record(
            session,
            post_id=post.id,
            title=post.title,
            description=post.description,
            body=post.body,
            kind=revision,
            author=author,
        )
    return post


async def tags_named(session: AsyncSession, names: Iterable[str]) -> list[Tag]:
    """The tags with these names, created where missing; names that slug alike are one tag."""
    wanted: dict[str, str] = {}
    for name in names:
        clean = " ".join(name.split())
        slug = slugify(clean)
        if slug and slug not in wanted:
            wanted[slug] = clean
    if not wanted:
        return []
    existing = {
        tag.slug: tag for tag in await session.scalars(select(Tag).where(Tag.slug.in_(wanted)))
    }
    tags = []
    for slug, name in wanted.items():
        tag = existing.get(slug)
        if tag is None:
            tag = Tag(name=name, slug=slug)
            session.add(tag)
        tags.append(tag)
    return tags


def set_content(post: Post, rendered: markdown.Rendered, tags: list[Tag]) -> None:
    """Set what is derived from a post's body and tags, together, so that none goes stale."""
    post.body_html = rendered.html
    post.body_text = rendered.text
    post.excerpt = rendered.excerpt
    post.reading_minutes = rendered.reading_minutes
    post.toc = rendered.toc
    post.render_version = markdown.VERSION
    post.tags = tags
    post.tag_names = " ".join(tag.name for tag in tags)


async def keep_address(session: AsyncSession, path: str, post: Post) -> None:
    """Make `path` answer with a 301 to `post` from now on."""
    existing = await session.scalar(select(Redirect).where(Redirect.path == path))
    if existing is None:
        session.add(Redirect(path=path, post_id=post.id))
    else:
        existing.post_id = post.id
    await session.flush()
