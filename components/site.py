"""The site's own identity: title, description, language, address, footer, defaults.

Stored in one database row that admins edit (/admin/settings), so every worker and
instance sees a change on its next request: saving it moves the content clock
(components/clock.py), like any write readers can see. An environment variable that
names the same thing wins over the row (a PaaS operator keeps control); those are read
once, by components/settings.py, with the same checks as the form's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from components.media.names import file_name
from components.models import Media, SiteSettings

# BCP 47, as far as a page's `lang` needs: "en", "pt-BR", "zh-Hant", "de-CH-1996".
LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}")


class Invalid(ValueError):
    """A value a setting cannot take; str() says why, without the setting's name."""


MENU_ENTRIES = 12
MENU_LABEL = 40


@dataclass(frozen=True)
class MenuEntry:
    label: str
    url: str


@dataclass(frozen=True)
class Site:
    """The settings every page is made with."""

    title: str = "Quire"
    description: str = ""
    language: str = "en"
    # "https://blog.example" (no path, no trailing slash), or "" to use the request's own.
    base_url: str = ""
    footer: str = ""
    comments_default: bool = True
    # A new post's mail to subscribers: "excerpt" (with a link to read on) or "whole".
    newsletter: str = "excerpt"
    # New followers on the fediverse: "auto" (accepted at once) or "manual".
    followers: str = "auto"
    # Uploaded images, by their file names in the media library ("" for none); not
    # settable from the environment.
    logo: str = ""
    logo_width: int = 0
    logo_height: int = 0
    favicon: str = ""
    favicon_type: str = ""
    # The header's menu as an admin set it; empty: Posts, Tags, Archive.
    menu: tuple[MenuEntry, ...] = ()

    @property
    def host(self) -> str:
        """The base URL's host (and port), lowercased; "" without a base URL."""
        return urlsplit(self.base_url).netloc.lower()

    @property
    def scheme(self) -> str:
        return urlsplit(self.base_url).scheme

    @property
    def newsletter_whole(self) -> bool:
        return self.newsletter == "whole"


def _text(limit: int, required: bool = False) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = " ".join(raw.split())
        if required and not value:
            raise Invalid("must not be empty")
        if len(value) > limit:
            raise Invalid(f"must be at most {limit} characters (this is {len(value)})")
        return value

    return parse


def parse_language(raw: str) -> str:
    value = raw.strip()
    if not LANGUAGE.fullmatch(value):
        raise Invalid(f"must be a language tag such as en, fr or pt-BR, not {raw!r}")
    return value


def parse_base_url(raw: str) -> str:
    """http(s)://host[:port], nothing after it; "" for none."""
    value = raw.strip().removesuffix("/")
    if not value:
        return ""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise Invalid(f"must be http(s)://host[:port], not {raw!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"must start with http:// or https:// and name a host, not {raw!r}")
    if parts.path or parts.query or parts.fragment or "?" in value or "#" in value:
        raise Invalid(f"must be http(s)://host[:port] without a path, query or fragment: {raw!r}")
    if parts.username is not None or parts.password is not None:
        raise Invalid("must not hold a user name or password")
    if port == 0:
        raise Invalid(f"has no usable port: {raw!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def parse_switch(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0", ""):
        return False
    raise Invalid(f"must be on or off, not {raw!r}")


NEWSLETTER_CHOICES = {"excerpt": "The excerpt and a link", "whole": "The whole post"}


def parse_newsletter(raw: str) -> str:
    value = raw.strip().lower() or "excerpt"  # a form without the field keeps the default
    if value not in NEWSLETTER_CHOICES:
        raise Invalid(f"must be excerpt or whole, not {raw!r}")
    return value


FOLLOWERS_CHOICES = {"auto": "Accepted at once", "manual": "Held for an admin's approval"}


def parse_followers(raw: str) -> str:
    value = raw.strip().lower() or "auto"
    if value not in FOLLOWERS_CHOICES:
        raise Invalid(f"must be auto or manual, not {raw!r}")
    return value


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    env: str
    parse: Callable[[str], Any]


FIELDS = (
    Field("title", "Title", "QUIRE_SITE_TITLE", _text(100, required=True)),
    Field("description", "Description", "QUIRE_SITE_DESCRIPTION", _text(300)),
    Field("language", "Language", "QUIRE_SITE_LANGUAGE", parse_language),
    Field("base_url", "Address (base URL)", "QUIRE_BASE_URL", parse_base_url),
    Field("footer", "Footer line", "QUIRE_SITE_FOOTER", _text(200)),
    Field("comments_default", "Comments on new posts", "QUIRE_COMMENTS_DEFAULT", parse_switch),
    Field("newsletter", "New posts by email", "QUIRE_NEWSLETTER", parse_newsletter),
    Field("followers", "New followers on the fediverse", "QUIRE_FOLLOWERS", parse_followers),
)
BY_NAME = {field.name: field for field in FIELDS}


def from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings the environment fixes, parsed; raises Invalid naming the variable."""
    fixed: dict[str, Any] = {}
    for field in FIELDS:
        raw = environ.get(field.env)
        if raw is None or raw == "":
            continue
        try:
            fixed[field.name] = field.parse(str(raw))
        except Invalid as error:
            raise Invalid(f"{field.env}: {error}") from None
    return fixed


def parse_form(
    form: Mapping[str, str], fixed: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The values a settings form sends, and an error per field that cannot take its value.

    Fields the environment fixes are not read: the form cannot change them. A switch
    missing from the form is off (an unticked checkbox sends nothing)."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in FIELDS:
        if field.name in fixed:
            continue
        raw = form.get(field.name, "")
        try:
            values[field.name] = field.parse(raw)
        except Invalid as error:
            errors[field.name] = f"{field.label} {error}."
    return values, errors


async def stored(db: AsyncSession) -> dict[str, Any]:
    """What admins saved, by name: nothing before the first save."""
    row = await db.scalar(
        select(SiteSettings)
        .where(SiteSettings.id == 1)
        .options(joinedload(SiteSettings.logo), joinedload(SiteSettings.favicon))
    )
    if row is None:
        return {}
    saved: dict[str, Any] = {field.name: getattr(row, field.name) for field in FIELDS}
    if row.logo is not None:
        saved["logo"] = file_name(row.logo.sha256, row.logo.content_type)
        saved["logo_width"], saved["logo_height"] = row.logo.width or 0, row.logo.height or 0
    saved["menu"] = tuple(MenuEntry(entry["label"], entry["url"]) for entry in row.menu or [])
    if row.favicon is not None:
        saved["favicon"] = file_name(row.favicon.sha256, row.favicon.content_type)
        saved["favicon_type"] = row.favicon.content_type
    return saved


def merged(saved: Mapping[str, Any], fixed: Mapping[str, Any]) -> Site:
    """The site as pages show it: the environment over the saved row over the defaults."""
    return replace(Site(), **{**saved, **fixed})


async def load(db: AsyncSession, fixed: Mapping[str, Any]) -> Site:
    return merged(await stored(db), fixed)


async def save(db: AsyncSession, values: Mapping[str, Any]) -> None:
    """Keep `values` (checked by parse_form) in the row, made on the first save."""
    unknown = set(values) - set(BY_NAME)
    if unknown:
        raise ValueError(f"not settings: {', '.join(sorted(unknown))}")
    row = await _row(db)
    for name, value in values.items():
        setattr(row, name, value)
    await db.flush()


async def save_default_author(db: AsyncSession, user_id: int | None) -> None:
    """Whose name posts without an author carry; None for the first admin's."""
    row = await _row(db)
    row.default_author_id = user_id
    await db.flush()


def parse_menu(raw: str) -> list[dict[str, str]]:
    """The menu typed one entry a line, its label then its address ("About /about",
    "Python /tags/python", "Code https://code.example"); raises Invalid naming the line."""
    entries = []
    for number, line in enumerate(raw.splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        if len(words) < 2:
            raise Invalid(f"line {number} needs a label and an address, such as About /about")
        label, url = " ".join(words[:-1]), words[-1]
        if len(label) > MENU_LABEL:
            raise Invalid(f"line {number}: a label has at most {MENU_LABEL} characters")
        parts = urlsplit(url)
        on_site = url.startswith("/") and not url.startswith("//") and not parts.scheme
        elsewhere = parts.scheme in ("http", "https") and bool(parts.netloc)
        if not (on_site or elsewhere):
            raise Invalid(
                f"line {number}: {url[:60]!r} is neither a path on this site (/about) nor an "
                "http(s) address"
            )
        entries.append({"label": label, "url": url})
    if len(entries) > MENU_ENTRIES:
        raise Invalid(f"has {len(entries)} entries; at most {MENU_ENTRIES} fit")
    return entries


def menu_text(menu: tuple[MenuEntry, ...]) -> str:
    """The menu as the settings form shows it, one entry a line."""
    return "\n".join(f"{entry.label} {entry.url}" for entry in menu)


async def save_menu(db: AsyncSession, entries: list[dict[str, str]]) -> None:
    row = await _row(db)
    row.menu = entries
    await db.flush()


async def save_images(
    db: AsyncSession, *, logo: Media | bool | None, favicon: Media | bool | None
) -> None:
    """Set the logo and the icon: a media row, None to remove it, True to keep it."""
    row = await _row(db)
    if logo is not True:
        row.logo_id = logo.id if isinstance(logo, Media) else None
    if favicon is not True:
        row.favicon_id = favicon.id if isinstance(favicon, Media) else None
    await db.flush()


async def _row(db: AsyncSession) -> SiteSettings:
    row = await db.get(SiteSettings, 1)
    if row is None:
        row = SiteSettings(id=1, **{f.name: getattr(Site(), f.name) for f in FIELDS})
        db.add(row)
    return row
