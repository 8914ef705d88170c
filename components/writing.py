"""The author's side of posts: what the editor saves, the admin list and its actions.

Saves are checked against the version the editor started from. A save from an older
version is refused as a `Conflict` carrying both texts, unless the save that moved
the version on came from the same open editor (its own autosave still in flight).
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, load_only, selectinload
from sqlalchemy.orm.exc import StaleDataError

from components import markdown, revisions, series
from components.models import (
    MAX_ADDRESS,
    REPLY_KEY,
    Post,
    PostKind,
    PostStatus,
    RevisionKind,
    Tag,
    User,
    is_web_address,
    post_tags,
    utcnow,
)
from components.posts import is_visible
from components.render_pool import RenderRefused
from components.saving import Content, write
from components.text import slugify

UNTITLED = "Untitled draft"
MAX_TITLE = 300
MAX_BODY = 1_000_000
MAX_TAGS = 20


class Action(enum.StrEnum):
    DRAFT = "draft"
    PUBLISH = "publish"
    SCHEDULE = "schedule"


@dataclass
class Draft:
    """What the editor's form holds, as typed."""

    title: str = ""
    slug: str = ""
    description: str = ""
    tags: str = ""
    series: str = ""
    # The address of the post this one answers (kept as front matter `in_reply_to`).
    in_reply_to: str = ""
    body: str = ""
    comments_enabled: bool = False
    share_enabled: bool = True
    action: Action = Action.DRAFT
    publish_at: str = ""  # "YYYY-MM-DDTHH:MM" in the author's time zone
    version: int | None = None
    editor: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    # Chosen when the post is made (New post, New page), never changed by a save after.
    kind: PostKind = PostKind.POST

    @property
    def tag_list(self) -> list[str]:
        return [name.strip() for name in self.tags.split(",") if name.strip()]

    @classmethod
    def of(cls, post: Post, time_zone: str) -> Draft:
        """The form for an existing post, dates in the author's zone."""
        action = {
            PostStatus.DRAFT: Action.DRAFT,
            PostStatus.SCHEDULED: Action.SCHEDULE,
            PostStatus.PUBLISHED: Action.PUBLISH,
        }[post.status]
        return cls(
            title=post.title,
            slug=post.slug,
            description=post.description,
            tags=", ".join(tag.name for tag in post.tags),
            series=post.series.name if post.series else "",
            # As written, so that a bad imported one shows, to be mended.
            in_reply_to=post.in_reply_to_as_written,
            body=post.body,
            comments_enabled=post.comments_enabled,
            share_enabled=post.share_enabled,
            action=action,
            publish_at=local_input(post.published_at, time_zone) if post.published_at else "",
            version=post.version,
            kind=post.kind,
        )


class Invalid(ValueError):
    """The draft cannot be saved; `errors` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class Conflict(Exception):
    """Someone else saved the post since this editor loaded it."""

    def __init__(self, post_id: int) -> None:
        super().__init__("the post was changed elsewhere")
        self.post_id = post_id


def local_input(moment: datetime, time_zone: str) -> str:
    """A UTC time as an `<input type=datetime-local>` value in `time_zone`."""
    return f"{moment.astimezone(ZoneInfo(time_zone)):%Y-%m-%dT%H:%M}"


def parse_local(text: str, time_zone: str) -> datetime | None:
    """A datetime-local value typed in `time_zone`, as an aware UTC datetime."""
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return None
    # fold=0: in the repeated hour when clocks go back, the first of the two is meant.
    return naive.replace(tzinfo=ZoneInfo(time_zone)).astimezone(ZoneInfo("UTC"))


@dataclass(frozen=True)
class _Checked:
    title: str
    slug: str
    status: PostStatus
    published_at: datetime | None


async def _check(
    session: AsyncSession,
    draft: Draft,
    *,
    post: Post | None,
    time_zone: str,
    autosave: bool,
    taken: Mapping[str, str],
) -> _Checked:
    errors: dict[str, str] = {}
    title = " ".join(draft.title.split())
    if not title:
        if autosave:
            title = post.title if post else UNTITLED
        else:
            errors["title"] = "A post needs a title."
    if len(title) > MAX_TITLE:
        errors["title"] = f"The title is {len(title)} characters; at most {MAX_TITLE} fit."
    if len(draft.body) > MAX_BODY:
        errors["body"] = "The text is longer than a million characters."
    if len(draft.tag_list) > MAX_TAGS:
        errors["tags"] = f"At most {MAX_TAGS} tags."
    elif any(not slugify(name) for name in draft.tag_list):
        errors["tags"] = "Each tag needs at least one letter or digit."
    if (problem := series.problem_with(draft.series)) is not None:
        errors["series"] = problem
    if draft.in_reply_to.strip() and not is_web_address(draft.in_reply_to):
        errors["in_reply_to"] = (
            "Give the full address of the post this one answers (https://…), "
            f"at most {MAX_ADDRESS:,} characters."
        )

    slug = slugify(draft.slug or title)
    if draft.slug.strip() and not slug:
        errors["slug"] = "The slug must contain at least one letter or digit."
    elif not slug:
        slug = post.slug if post else "untitled"
    kind = post.kind if post is not None else draft.kind
    owner = (await session.execute(select(Post.id, Post.title).where(Post.slug == slug))).first()
    if kind is PostKind.PAGE and slug in taken:
        if autosave and not draft.slug.strip():
            slug = await _free_slug(session, slug)
        else:
            errors["slug"] = (
                f"The address /{slug} is the site's own (it serves {taken[slug]}): choose another."
            )
    elif owner is not None and (post is None or owner.id != post.id):
        if autosave and not draft.slug.strip():
            slug = await _free_slug(session, slug)
        else:
            errors["slug"] = (
                f"The address “{slug}” is already used by “{owner.title or 'Untitled'}”."
            )

    now = utcnow()
    status, published_at = PostStatus.DRAFT, post.published_at if post else None
    if draft.action is Action.PUBLISH:
        status = PostStatus.PUBLISHED
        if published_at is None or published_at > now:
            published_at = now
    elif draft.action is Action.SCHEDULE:
        status = PostStatus.SCHEDULED
        when = parse_local(draft.publish_at, time_zone) if draft.publish_at.strip() else None
        if when is None:
            errors["publish_at"] = "Give a date and time to publish at."
        elif when <= now and not (post and post.status is PostStatus.SCHEDULED):
            errors["publish_at"] = "That time has passed: pick a later one, or publish now."
        else:
            published_at = when
    if errors:
        raise Invalid(errors)
    return _Checked(title=title, slug=slug, status=status, published_at=published_at)


async def _free_slug(session: AsyncSession, slug: str) -> str:
    taken = set(
        await session.scalars(select(Post.slug).where(Post.slug.startswith(f"{slug}-")).limit(1000))
    )
    number = 2
    while f"{slug}-{number}" in taken:
        number += 1
    return f"{slug}-{number}"


async def for_editing(session: AsyncSession, post_id: int) -> Post | None:
    return await session.scalar(
        select(Post)
        .where(Post.id == post_id)
        .options(selectinload(Post.tags), selectinload(Post.author), joinedload(Post.series))
        .execution_options(populate_existing=True)
    )


async def started_by(session: AsyncSession, editor: str) -> Post | None:
    """The post a new-post editor already created by autosaving (so it is not made twice)."""
    if not editor:
        return None
    found = await session.scalar(select(Post.id).where(Post.last_editor == editor).limit(1))
    return await for_editing(session, found) if found is not None else None


async def save(
    session: AsyncSession,
    draft: Draft,
    *,
    post: Post | None,
    author: User,
    address: Callable[[Post], str],
    autosave: bool = False,
    pictures: Mapping[str, markdown.Picture] | None = None,
    taken: Mapping[str, str] | None = None,
) -> Post:
    """Save the editor's draft as a new or existing post, and keep a revision of it.

    `taken` maps the first segments of the site's own addresses (admin, tags, feed.xml...),
    which a page, at /<slug>, may not have, to a route that uses each.

    `address` gives a visible post's public path, so that a published post whose
    address changes (new slug, new date) keeps answering at the old one with a 301.
    An autosave of a post that readers can see only keeps a revision.
    """
    if post is not None and draft.version != post.version and draft.editor != post.last_editor:
        raise Conflict(post.id)
    checked = await _check(
        session, draft, post=post, time_zone=author.time_zone, autosave=autosave, taken=taken or {}
    )
    if autosave and post is not None and post.status is not PostStatus.DRAFT:
        if is_live(post, draft):
            # An autosave that fires after a save or Publish: nothing is waiting.
            return post
        await revisions.record(
            session,
            post_id=post.id,
            title=checked.title,
            description=draft.description.strip(),
            body=draft.body,
            kind=RevisionKind.AUTOSAVE,
            author=author,
        )
        return post

    content = Content(
        title=checked.title,
        slug=checked.slug,
        description=draft.description.strip(),
        body=draft.body,
        tags=draft.tag_list,
        series=draft.series,
        front_matter=_front_matter(post, draft),
        status=checked.status,
        published_at=checked.published_at,
        comments_enabled=draft.comments_enabled,
        share_enabled=draft.share_enabled,
        kind=draft.kind,
    )
    # Taken now: once a flush fails, the session refuses every read, even of the post's id.
    post_id = post.id if post is not None else None
    try:
        return await write(
            session,
            post,
            content,
            author=author,
            revision=RevisionKind.AUTOSAVE if autosave else RevisionKind.SAVE,
            pictures=pictures,
            address=address,
            editor=draft.editor,
        )
    except RenderRefused as refused:
        raise Invalid({"body": f"Not saved: {refused}"}) from None
    except StaleDataError:
        # Another save landed between reading the post and writing it.
        assert post_id is not None, "a new post has no version to be stale"
        await session.rollback()
        raise Conflict(post_id) from None


async def set_status(session: AsyncSession, post: Post, action: Action) -> None:
    """Publish now, or take back to draft, from the admin list."""
    if action is Action.PUBLISH:
        post.status = PostStatus.PUBLISHED
        if post.published_at is None or post.published_at > utcnow():
            post.published_at = utcnow()
    else:
        post.status = PostStatus.DRAFT
    post.updated_at = utcnow()
    await session.flush()


async def delete(session: AsyncSession, post: Post) -> None:
    await session.delete(post)
    await session.flush()


class Filter(enum.StrEnum):
    ALL = ""
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"


async def for_admin(
    session: AsyncSession,
    *,
    user: User,
    status: Filter = Filter.ALL,
    query: str = "",
    limit: int = 200,
) -> Sequence[Post]:
    """The posts an author may edit (an admin: all), newest change first."""
    now = utcnow()
    select_posts = (
        select(Post)
        .options(
            load_only(
                Post.title,
                Post.slug,
                Post.status,
                Post.published_at,
                Post.updated_at,
                Post.author_id,
                Post.version,
                Post.kind,
                raiseload=True,
            ),
            selectinload(Post.author).load_only(User.name),
        )
        .order_by(Post.updated_at.desc(), Post.id.desc())
        .limit(limit)
    )
    if not user.is_admin:
        select_posts = select_posts.where(Post.author_id == user.id)
    if status is Filter.DRAFT:
        select_posts = select_posts.where(Post.status == PostStatus.DRAFT)
    elif status is Filter.SCHEDULED:
        select_posts = select_posts.where(
            Post.status == PostStatus.SCHEDULED, Post.published_at > now
        )
    elif status is Filter.PUBLISHED:
        select_posts = select_posts.where(is_visible(now))
    if words := query.strip():
        pattern = f"%{_escape_like(words.lower())}%"
        select_posts = select_posts.where(
            or_(
                func.lower(Post.title).like(pattern, escape="\\"),
                func.lower(Post.slug).like(pattern, escape="\\"),
            )
        )
    return (await session.scalars(select_posts)).all()


async def tag_suggestions(
    session: AsyncSession, user: User, prefix: str, limit: int = 8
) -> Sequence[str]:
    """Tag names starting with `prefix` (case-insensitive), most used first: those on
    posts readers see or `user` may edit, so that no one learns of tags that live only
    on another writer's drafts."""
    prefix = prefix.strip().lower()
    if not prefix:
        return []
    # An admin edits every post, so sees every tag in use.
    seen = true() if user.is_admin else or_(is_visible(utcnow()), Post.author_id == user.id)
    query = (
        select(Tag.name)
        .join(post_tags, post_tags.c.tag_id == Tag.id)
        .join(Post, Post.id == post_tags.c.post_id)
        .where(func.lower(Tag.name).like(f"{_escape_like(prefix)}%", escape="\\"))
        .where(seen)
        .group_by(Tag.id, Tag.name)
        .order_by(func.count(post_tags.c.post_id).desc(), Tag.name)
        .limit(limit)
    )
    return (await session.scalars(query)).all()


def _front_matter(post: Post | None, draft: Draft) -> dict[str, Any] | None:
    """The post's front matter with the editor's `in_reply_to`; None when it is unchanged
    (every other kept key stays as the file had it)."""
    wanted = draft.in_reply_to.strip()
    kept = dict(post.front_matter or {}) if post is not None else {}
    if wanted == (post.in_reply_to_as_written.strip() if post is not None else ""):
        return None
    if wanted:
        kept[REPLY_KEY] = wanted
    else:
        kept.pop(REPLY_KEY, None)
    return kept


def is_live(post: Post, draft: Draft) -> bool:
    """Is what the editor holds what readers of `post` see (its text, title, description)?"""
    return (
        draft.body == post.body
        and draft.title.strip() == post.title
        and draft.description.strip() == post.description
    )


def can_edit(user: User, post: Post) -> bool:
    return user.is_admin or post.author_id == user.id


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
