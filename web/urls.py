"""Addresses that every blueprint and template builds: a post's canonical address.

Kept apart from the blueprints so that none of them imports another to link to a post.
"""

from __future__ import annotations

from typing import Any

from quart import Quart, url_for

from components.models import Post


def init_app(app: Quart) -> None:
    app.add_template_global(post_url)


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
