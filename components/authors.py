"""Authors as readers meet them: bylines, author pages, profiles and the default author.

A post without an author (imported without --author, or the demo's) carries the site's
default author: the one an admin chose in the settings, else the first admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from components.models import AuthorProfile, Media, Post, Role, SiteSettings, User, utcnow
from components.posts import is_listed
from components.text import parse_id, slugify

MAX_BIO = 500
MAX_LINKS = 5
MAX_LINK = 300
SLUG_LENGTH = 90


class ProfileError(ValueError):
    """A profile field that cannot take its value; str() says why."""


@dataclass(frozen=True)
class Byline:
    """Who a post is by, as pages link to them: no ORM row, so it can be kept per moment."""

    id: int
    name: str
    slug: str

    @classmethod
    def of(cls, user: User) -> Byline:
        return cls(user.id, user.name, user.slug)


@dataclass(frozen=True)
class Author:
    """An author page's person: the byline, and what their profile says."""

    byline: Byline
    bio: str
    links: list[str]
    avatar: Media | None
    is_default: bool


async def free_slug(
    session: AsyncSession, name: str, email: str, exclude_id: int | None = None
) -> str:
    """An author address made from `name` that no one else has: `ada`, else `ada-2`, ..."""
    stem = slugify(name, SLUG_LENGTH) or slugify(email.split("@")[0], SLUG_LENGTH) or "author"
    query = select(User.slug).where(or_(User.slug == stem, User.slug.startswith(f"{stem}-")))
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    taken = set((await session.scalars(query)).all())
    slug, number = stem, 1
    while slug in taken:
        number += 1
        slug = f"{stem}-{number}"
    return slug


async def default_byline(session: AsyncSession) -> Byline | None:
    """The default author: the one chosen in the settings, else the first admin; one
    statement. None only on a site without an admin."""
    chosen = select(SiteSettings.default_author_id).where(SiteSettings.id == 1).scalar_subquery()
    first_admin = (
        select(User.id).where(User.role == Role.ADMIN).order_by(User.id).limit(1).scalar_subquery()
    )
    user = await session.scalar(select(User).where(User.id == func.coalesce(chosen, first_admin)))
    return Byline.of(user) if user is not None else None


def writes(byline: Byline, default: Byline | None) -> ColumnElement[bool]:
    """The posts `byline` is shown on: their own, and the unattributed ones if they are
    the default author."""
    if default is not None and default.id == byline.id:
        return or_(Post.author_id == byline.id, Post.author_id.is_(None))
    return Post.author_id == byline.id


async def by_slug(session: AsyncSession, slug: str, default: Byline | None) -> Author | None:
    """The author at /authors/<slug> with their profile and avatar: one statement."""
    row = (
        (
            await session.execute(
                select(User, AuthorProfile)
                .outerjoin(AuthorProfile, AuthorProfile.user_id == User.id)
                .where(User.slug == slug)
                .options(joinedload(AuthorProfile.avatar).joinedload(Media.variants))
            )
        )
        .unique()
        .first()
    )
    if row is None:
        return None
    user, profile = row
    byline = Byline.of(user)
    return Author(
        byline=byline,
        bio=profile.bio if profile else "",
        links=list(profile.links) if profile else [],
        avatar=profile.avatar if profile else None,
        is_default=default is not None and default.id == user.id,
    )


async def profile_of(session: AsyncSession, user: User) -> AuthorProfile:
    """The user's profile, made (not yet flushed) when they have none."""
    found = await session.scalar(
        select(AuthorProfile)
        .where(AuthorProfile.user_id == user.id)
        .options(joinedload(AuthorProfile.avatar))
    )
    if found is None:
        found = AuthorProfile(user_id=user.id, bio="", links=[], avatar=None)
        session.add(found)
    return found


def parse_links(raw: str) -> list[str]:
    """One http(s) address per line, at most five; anything else is refused by name."""
    links: list[str] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        value = line.strip()
        if not value:
            continue
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ProfileError(f"Line {number}, “{value[:60]}”, is not an http(s) address.")
        if len(value) > MAX_LINK:
            raise ProfileError(f"Line {number} is longer than {MAX_LINK} characters.")
        if value not in links:
            links.append(value)
    if len(links) > MAX_LINKS:
        raise ProfileError(f"At most {MAX_LINKS} links, one per line ({len(links)} given).")
    return links


def parse_profile(form: Mapping[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    """The name, address, bio and links a profile form sends, and an error per field."""
    values: dict[str, object] = {}
    errors: dict[str, str] = {}
    name = " ".join(form.get("name", "").split())
    if not name or len(name) > 100:
        errors["name"] = "A name of 1 to 100 characters is needed."
    values["name"] = name
    raw_slug = form.get("slug", "").strip()
    slug = slugify(raw_slug, SLUG_LENGTH)
    if not slug:
        errors["slug"] = "The address needs letters or digits, such as ada-lovelace."
    values["slug"] = slug
    bio = form.get("bio", "").strip().replace("\r\n", "\n")
    if len(bio) > MAX_BIO:
        errors["bio"] = f"The bio must be at most {MAX_BIO} characters (this is {len(bio)})."
    values["bio"] = bio
    try:
        values["links"] = parse_links(form.get("links", ""))
    except ProfileError as error:
        errors["links"] = str(error)
        values["links"] = form.get("links", "")
    return values, errors


async def save_profile(
    session: AsyncSession, user: User, values: Mapping[str, object], avatar: Media | None
) -> None:
    """Keep checked values; refuses an address someone else has, changing nothing."""
    slug = str(values["slug"])
    if slug != user.slug:
        taken = await session.scalar(select(User.id).where(User.slug == slug, User.id != user.id))
        if taken is not None:
            raise ProfileError(f"/authors/{slug} belongs to someone else: choose another address.")
    profile = await profile_of(session, user)
    user.name = str(values["name"])
    user.slug = slug
    profile.bio = str(values["bio"])
    links = values["links"]
    assert isinstance(links, list)
    profile.links = links
    if avatar is not None:
        profile.avatar = avatar
    await session.flush()


async def remove_avatar(session: AsyncSession, user: User) -> None:
    profile = await profile_of(session, user)
    profile.avatar = None
    await session.flush()


async def bylines(session: AsyncSession) -> list[Byline]:
    """Everyone who could be the default author, by name."""
    users = await session.scalars(select(User).order_by(func.lower(User.name), User.id))
    return [Byline.of(user) for user in users]


async def chosen_default(session: AsyncSession) -> int | None:
    """The default author an admin chose; None: the first admin."""
    return await session.scalar(select(SiteSettings.default_author_id).where(SiteSettings.id == 1))


async def parse_default(session: AsyncSession, raw: str) -> int | None:
    """The settings form's default author: "" for the first admin, else a user's id."""
    if not raw.strip():
        return None
    user_id = parse_id(raw)
    if user_id is None or await session.get(User, user_id) is None:
        raise ProfileError("Choose the default author from the list.")
    return user_id


async def with_posts(session: AsyncSession, default: Byline | None) -> list[str]:
    """The addresses of the authors whose page lists a visible post, for the sitemap: one
    statement."""
    visible = is_listed(utcnow())
    shown: ColumnElement[bool] = User.id.in_(
        select(Post.author_id).where(visible, Post.author_id.is_not(None))
    )
    if default is not None:
        unattributed = exists().where(visible, Post.author_id.is_(None))
        shown = or_(shown, and_(User.id == default.id, unattributed))
    return list((await session.scalars(select(User.slug).where(shown).order_by(User.slug))).all())
