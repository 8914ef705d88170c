"""Addresses that blueprints, templates and the command line build: a post's canonical
address, and a library image's, with its responsive sizes.

Kept apart from the blueprints so that none of them imports another to link to a post.
"""

from __future__ import annotations

from typing import Any

from quart import Quart, url_for

from components.markdown import Picture
from components.media import library as media_library
from components.media.names import file_name
from components.models import Media, Post
from web.database import get_db


def init_app(app: Quart) -> None:
    app.add_template_global(post_url)
    app.add_template_global(media_url)
    app.add_template_global(picture)


def post_url(post: Post, endpoint: str = "blog.post", **values: Any) -> str:
    """The canonical address of a post (its publication date and slug), or of another
    page under it, such as its comments feed."""
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


async def pictures_in(body: str) -> dict[str, Picture]:
    """The responsive sizes of the library images a post's Markdown shows."""
    return await media_library.pictures(get_db(), body, url=media_url, picture=picture)
