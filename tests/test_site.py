"""The site's settings as values: parsing, the environment over the saved row, saving."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components import clock, site
from components.models import SiteSettings
from components.settings import ConfigError, load_config
from components.site import Invalid, Site


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://blog.example", "https://blog.example"),
        ("https://Blog.Example/", "https://blog.example"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("  ", ""),
    ],
)
def test_a_base_url_is_an_origin(raw: str, expected: str) -> None:
    assert site.parse_base_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "blog.example",
        "ftp://blog.example",
        "https://",
        "https://blog.example/blog",
        "https://blog.example?x=1",
        "https://blog.example#top",
        "https://user:pw@blog.example",
        "https://blog.example:99999",
        "javascript:alert(1)",
    ],
)
def test_anything_else_is_refused(raw: str) -> None:
    with pytest.raises(Invalid):
        site.parse_base_url(raw)


def test_languages_are_tags() -> None:
    assert site.parse_language(" pt-BR ") == "pt-BR"
    for bad in ("", "english", "e", "en_US", 'en" onload="x'):
        with pytest.raises(Invalid):
            site.parse_language(bad)


def test_the_environment_is_checked_at_start_up_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"^QUIRE_BASE_URL: must .*/blog"):
        load_config({"QUIRE_BASE_URL": "https://blog.example/blog"})
    with pytest.raises(ConfigError, match=r"^QUIRE_SITE_TITLE: must be at most 100"):
        load_config({"QUIRE_SITE_TITLE": "x" * 101})
    fixed = load_config({"QUIRE_SITE_TITLE": " My  blog ", "QUIRE_COMMENTS_DEFAULT": "off"})
    assert fixed["SITE_FIXED"] == {"title": "My blog", "comments_default": False}


def test_the_form_reads_only_what_the_environment_leaves_free() -> None:
    form = {"title": "", "description": "d", "language": "xx-", "base_url": "https://a.example"}
    values, errors = site.parse_form(form, fixed={"title": "Fixed"})
    assert "title" not in values and "title" not in errors
    assert set(errors) == {"language"}
    assert values["comments_default"] is False  # an unticked box sends nothing
    _, errors = site.parse_form({"title": " "}, fixed={})
    assert errors["title"] == "Title must not be empty."


async def test_saved_values_stand_under_the_environment(db: AsyncSession) -> None:
    assert await site.load(db, {}) == Site()
    await site.save(db, {"title": "Saved", "footer": "CC BY 4.0", "comments_default": False})
    await db.commit()
    assert await site.load(db, {}) == Site(
        title="Saved", footer="CC BY 4.0", comments_default=False
    )
    assert (await site.load(db, {"title": "Fixed"})).title == "Fixed"
    rows = (await db.scalars(select(SiteSettings))).all()
    assert len(rows) == 1


async def test_a_save_moves_the_content_clock(db: AsyncSession) -> None:
    before = await clock.last_changed(db)
    version = await db.scalar(select(clock.SiteState.version))
    await site.save(db, {"description": "A blog about SQL."})
    await db.commit()
    assert await db.scalar(select(clock.SiteState.version)) == (version or 0) + 1
    assert await clock.last_changed(db) >= before


async def test_unknown_settings_are_refused(db: AsyncSession) -> None:
    with pytest.raises(ValueError, match="not settings: colour"):
        await site.save(db, {"colour": "red"})
