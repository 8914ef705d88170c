"""The site's people and settings in an export, and back: `_data/quire_people.yml` and
`_data/quire_settings.yml`, beside the posts and the comments.

People go out with their names, roles, profiles and the slugs of the posts they wrote;
never a password hash, a two-factor secret or a session. So a restored account cannot
sign in until an admin enables it and sends a password link (people.imported_author),
and whoever restores signs in with the account they made first. Settings come back
only into a blog that has none of its own yet: a restore never overwrites a running
site's title or address.
"""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from components import people, site, yaml_limits
from components.models import AuthorProfile, Post, Role, SiteSettings, User

PEOPLE_FILE = "_data/quire_people.yml"
SETTINGS_FILE = "_data/quire_settings.yml"


class BackupError(ValueError):
    """A people or settings file that cannot be read; str() says what and where."""


def _load(text: str, what: str) -> Any:
    try:
        return yaml_limits.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise BackupError(f"{what} is not YAML{line}") from None


# --- people -------------------------------------------------------------------


async def dump_people(session: AsyncSession) -> list[dict[str, Any]]:
    """Everyone, with their profile and their posts' slugs."""
    users = (await session.scalars(select(User).order_by(User.id))).all()
    profiles = {
        profile.user_id: profile for profile in await session.scalars(select(AuthorProfile))
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


# --- settings -----------------------------------------------------------------


async def dump_settings(session: AsyncSession) -> dict[str, Any] | None:
    """What admins set, or None before the first save."""
    row = await session.get(SiteSettings, 1)
    if row is None:
        return None
    values: dict[str, Any] = {field.name: getattr(row, field.name) for field in site.FIELDS}
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
    return values


async def restore_settings(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Keep `values` if this blog has no settings of its own yet; whether they were kept."""
    if await session.get(SiteSettings, 1) is not None:
        return False
    await site.save(session, {k: v for k, v in values.items() if k in site.BY_NAME})
    await site.save_menu(session, values.get("menu", []))
    if email := values.get("default_author"):
        user_id = await session.scalar(select(User.id).where(User.email == email.lower()))
        await site.save_default_author(session, user_id)
    return True
