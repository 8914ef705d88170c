"""The site's people and settings in an export, and back: `_data/quire_people.yml` and
`_data/quire_settings.yml`, beside the posts and the comments.

Each person's avatar, and the site's logo and icon, are named by their file under
`assets/media/` (components/media/backup brings those files back first; here they are
given to the people and the settings that named them).

People go out with their names, roles, profiles and the slugs of the posts they wrote;
never a password hash, a two-factor secret or a session. So a restored account cannot
sign in until an admin enables it and sends a password link (people.imported_author),
and whoever restores signs in with the account they made first. Settings come back
only into a blog that has none of its own yet: a restore never overwrites a running
site's title or address.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from components import authors, people, site, yaml_limits
from components.media.names import file_name
from components.models import AuthorProfile, Media, Post, Role, SiteSettings, User

PEOPLE_FILE = "_data/quire_people.yml"
SETTINGS_FILE = "_data/quire_settings.yml"


# The site's images in the settings file, each by its file under assets/media/.
IMAGES = ("logo", "favicon")
# A file of the library, as an export names it: its hash and the extension of its type.
_LIBRARY_FILE = re.compile(r"([0-9a-f]{64})\.(?:png|jpg|webp|gif)")


class BackupError(ValueError):
    """A people or settings file that cannot be read; str() says what and where."""


async def _media_id(session: AsyncSession, name: str, restored: Mapping[str, int]) -> int | None:
    """The library's copy of the export's file `name`: as the media restore stored it,
    else (a library file kept by hash) the one with its hash; None when there is none."""
    if name in restored:
        return restored[name]
    if (match := _LIBRARY_FILE.fullmatch(name)) is None:
        return None
    return await session.scalar(select(Media.id).where(Media.sha256 == match[1]))


def _load(text: str, what: str) -> Any:
    try:
        return yaml_limits.load_data(text)
    except yaml_limits.NotYaml as error:
        raise BackupError(f"{what} is {error}") from None


# --- people -------------------------------------------------------------------


async def dump_people(session: AsyncSession) -> list[dict[str, Any]]:
    """Everyone, with their profile and their posts' slugs."""
    users = (await session.scalars(select(User).order_by(User.id))).all()
    profiles = {
        profile.user_id: profile
        for profile in await session.scalars(
            select(AuthorProfile).options(joinedload(AuthorProfile.avatar))
        )
    }
    written: dict[int, list[str]] = {}
    for author_id, slug in await session.execute(
        select(Post.author_id, Post.slug).where(Post.author_id.is_not(None)).order_by(Post.id)
    ):
        if author_id is not None:
            written.setdefault(author_id, []).append(slug)
    out = []
    for user in users:
        entry: dict[str, Any] = {
            "email": user.email,
            "name": user.name,
            "slug": user.slug,
            "role": user.role.value,
        }
        if user.disabled_at is not None:
            entry["disabled"] = True
        if (profile := profiles.get(user.id)) is not None:
            if profile.bio:
                entry["bio"] = profile.bio
            if profile.links:
                entry["links"] = list(profile.links)
            if profile.avatar is not None:
                entry["avatar"] = file_name(profile.avatar.sha256, profile.avatar.content_type)
        if written.get(user.id):
            entry["posts"] = written[user.id]
        out.append(entry)
    return out


def parse_people(text: str) -> list[dict[str, Any]]:
    entries = _load(text, "the people file") or []
    if not isinstance(entries, list):
        raise BackupError("the people file must be a list of people")
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("email"), str):
            raise BackupError(f"person {number}: needs at least an email")
        if entry.get("role", "author") not in {role.value for role in Role}:
            raise BackupError(f"person {number}: role {entry.get('role')!r} is not a role")
        if not isinstance(entry.get("avatar", ""), str):
            raise BackupError(f"person {number}: avatar must be a file's name")
    return entries


async def restore_people(session: AsyncSession, entries: list[dict[str, Any]]) -> int:
    """Make the accounts this blog lacks; how many were made. Accounts already here,
    by email, are left as they are."""
    made = 0
    for entry in entries:
        email = str(entry["email"])
        known = await session.scalar(select(User.id).where(User.email == email.lower()))
        if known is not None:
            continue
        user = await people.imported_author(session, email, str(entry.get("name", "")))
        if user is None:
            continue
        made += 1
        user.role = Role(entry.get("role", "author"))
        wanted = str(entry.get("slug", ""))
        if wanted and await session.scalar(select(User.id).where(User.slug == wanted)) is None:
            user.slug = wanted
        bio, links = str(entry.get("bio", "")), entry.get("links") or []
        if bio or links:
            session.add(
                AuthorProfile(
                    user_id=user.id, bio=bio[:500], links=[str(link) for link in links][:10]
                )
            )
        await session.flush()
    return made


async def restore_authorship(session: AsyncSession, entries: list[dict[str, Any]]) -> int:
    """Give posts without an author the one the people file names; how many."""
    given = 0
    for entry in entries:
        slugs = [str(slug) for slug in entry.get("posts") or []]
        if not slugs:
            continue
        user_id = await session.scalar(
            select(User.id).where(User.email == str(entry["email"]).lower())
        )
        if user_id is None:
            continue
        done = await session.execute(
            update(Post)
            .where(Post.slug.in_(slugs), Post.author_id.is_(None))
            .values(author_id=user_id)
        )
        given += int(getattr(done, "rowcount", 0) or 0)
    return given


async def restore_avatars(
    session: AsyncSession, entries: list[dict[str, Any]], restored: Mapping[str, int]
) -> int:
    """Give people without an avatar the one the people file names (`restored`: the
    library's ids of the export's files); how many. An avatar already set stays."""
    given = 0
    for entry in entries:
        name = str(entry.get("avatar") or "")
        if not name or (media_id := await _media_id(session, name, restored)) is None:
            continue
        user = await session.scalar(select(User).where(User.email == str(entry["email"]).lower()))
        if user is None:
            continue
        profile = await authors.profile_of(session, user)
        if profile.avatar is None:
            profile.avatar = await session.get(Media, media_id)
            given += 1
    await session.flush()
    return given


# --- settings -----------------------------------------------------------------


async def dump_settings(session: AsyncSession) -> dict[str, Any] | None:
    """What admins set, or None before the first save."""
    row = await session.scalar(
        select(SiteSettings)
        .where(SiteSettings.id == 1)
        .options(joinedload(SiteSettings.logo), joinedload(SiteSettings.favicon))
    )
    if row is None:
        return None
    values: dict[str, Any] = {field.name: getattr(row, field.name) for field in site.FIELDS}
    for name in IMAGES:
        if (image := getattr(row, name)) is not None:
            values[name] = file_name(image.sha256, image.content_type)
    values["menu"] = [dict(entry) for entry in row.menu or []]
    if row.default_author_id is not None:
        email = await session.scalar(select(User.email).where(User.id == row.default_author_id))
        if email:
            values["default_author"] = email
    return values


def parse_settings(text: str) -> dict[str, Any]:
    """The settings a file holds, checked as the settings page checks them."""
    document = _load(text, "the settings file") or {}
    if not isinstance(document, dict):
        raise BackupError("the settings file must map each setting to its value")
    values: dict[str, Any] = {}
    for field in site.FIELDS:
        if field.name in document:
            raw = document[field.name]
            text_value = ("on" if raw else "off") if isinstance(raw, bool) else str(raw or "")
            try:
                values[field.name] = field.parse(text_value)
            except site.Invalid as error:
                raise BackupError(f"{field.name}: {error}") from None
    menu = document.get("menu") or []
    if not isinstance(menu, list):
        raise BackupError("menu: must be a list of labels and addresses")
    lines = "\n".join(f"{item.get('label', '')} {item.get('url', '')}" for item in menu)
    try:
        values["menu"] = site.parse_menu(lines)
    except site.Invalid as error:
        raise BackupError(f"menu {error}") from None
    if isinstance(document.get("default_author"), str):
        values["default_author"] = document["default_author"]
    for name in IMAGES:
        if name in document and not isinstance(document[name], str):
            raise BackupError(f"{name}: must be a file's name under assets/media/")
        if document.get(name):
            values[name] = document[name]
    return values


async def restore_settings(
    session: AsyncSession, values: dict[str, Any], restored: Mapping[str, int]
) -> bool:
    """Keep `values` if this blog has no settings of its own yet; whether they were kept.
    The logo and the icon are the library's copies of the files they name (`restored`:
    the media restore's ids of the export's files)."""
    if await session.get(SiteSettings, 1) is not None:
        return False
    await site.save(session, {k: v for k, v in values.items() if k in site.BY_NAME})
    await site.save_menu(session, values.get("menu", []))
    if email := values.get("default_author"):
        user_id = await session.scalar(select(User.id).where(User.email == email.lower()))
        await site.save_default_author(session, user_id)
    logo = await _media(session, values.get("logo", ""), restored)
    favicon = await _media(session, values.get("favicon", ""), restored)
    await site.save_images(session, logo=logo, favicon=favicon)
    return True


async def _media(session: AsyncSession, name: str, restored: Mapping[str, int]) -> Media | None:
    media_id = await _media_id(session, name, restored) if name else None
    return None if media_id is None else await session.get(Media, media_id)
