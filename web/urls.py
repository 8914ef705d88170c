"""Addresses that blueprints, templates and the command line build: a post's canonical
address, a library image's with its responsive sizes, a post's social card image, and
any of them made absolute on the site's origin.

Also the rule for ids in addresses. Kept apart from the blueprints so that none of them
imports another to link to a post.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import Quart, current_app, url_for
from sqlalchemy import inspect
from werkzeug.routing import IntegerConverter

from components import social
from components.markdown import Picture
from components.media import library as media_library
from components.media.names import file_name
from components.models import Media, Post, PostKind
from components.social import CardImage
from components.text import MAX_ID
from web import site
from web.database import get_db

TAKEN = "quire.taken_addresses"


class RowId(IntegerConverter):
    """`<int:...>` in every route. Past ten digits it matches nothing (404). A number past
    any row's id becomes 0, which no row has, so the view answers 404 as for any id not
    there, rather than handing the database an integer it refuses (a 500). Refusing it
    here instead would make werkzeug answer 405 to a POST whose GET twin matched."""

    regex = r"\d{1,10}"

    def to_python(self, value: str) -> int:
        number: int = super().to_python(value)
        return number if number <= MAX_ID else 0


def init_app(app: Quart) -> None:
    # Before any blueprint: a rule takes its converters when it is added.
    app.url_map.converters["int"] = RowId
    app.add_template_global(post_url)
    app.add_template_global(media_url)
    app.add_template_global(picture)
    app.add_template_filter(absolute)


def post_url(post: Post, endpoint: str = "blog.post", **values: Any) -> str:
    """The canonical address of a post (its publication date and slug), or of another
    page under it, such as its comments feed; a page's is /<slug>.

    Lists that never hold pages may leave `kind` unloaded."""
    if endpoint == "blog.post" and is_page(post):
        return url_for("blog.page", slug=post.slug, **values)
    published = post.published_at
    assert published is not None, "only published posts have a public address"
    return url_for(
        endpoint,
        year=published.year,
        month=published.month,
        day=published.day,
        slug=post.slug,
        **values,
    )


def taken_addresses() -> Mapping[str, str]:
    """The first segments of the site's own routes (admin, api, tags, feed.xml...), each
    with the shortest route under it: a page at /<slug> must not take one. Read off the
    URL map once."""
    found: dict[str, str] | None = current_app.extensions.get(TAKEN)
    if found is None:
        found = {}
        for rule in sorted(current_app.url_map.iter_rules(), key=lambda rule: len(rule.rule)):
            first = rule.rule.strip("/").split("/")[0]
            if first and not first.startswith("<"):
                found.setdefault(first, rule.rule)
        current_app.extensions[TAKEN] = found
    return found


def is_page(post: Post) -> bool:
    return "kind" not in inspect(post).unloaded and post.kind is PostKind.PAGE


def media_url(item: Media) -> str:
    return url_for("media.file", name=file_name(item.sha256, item.content_type))


def _srcset(item: Media) -> str:
    sizes = [
        f"{url_for('media.file', name=file_name(v.sha256, v.content_type))} {v.width}w"
        for v in item.variants
    ]
    return ", ".join([*sizes, f"{media_url(item)} {item.width}w"])


def picture(item: Media) -> Picture | None:
    """The responsive sizes of a library image, for `srcset` (None when it has no size)."""
    if not (item.width and item.height):
        return None
    return Picture(srcset=_srcset(item), width=item.width, height=item.height)


async def card_image(post: Post) -> CardImage | None:
    """A post's social card image. A cover (`image:`) from the library that the body does
    not show has its sizes looked up (one statement), so the card gets its 1200-pixel copy."""
    found = social.card_image(post)
    if found is None or found.width:
        return found
    for item in await media_library.for_body(get_db(), found.url):
        if (sizes := picture(item)) is not None:
            return social.sized(found.url, found.alt, sizes.srcset, sizes.width, sizes.height)
    return found


def absolute(url: str) -> str:
    """An address on this site made absolute, on the site's own origin; others as they are."""
    return site.origin() + url if url.startswith("/") and not url.startswith("//") else url


async def pictures_in(body: str) -> dict[str, Picture]:
    """The responsive sizes of the library images a post's Markdown shows."""
    return await media_library.pictures(get_db(), body, url=media_url, picture=picture)
