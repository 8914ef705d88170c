"""The web side of ActivityPub that more than one part needs: this site's addresses for
the documents, and the addresses an activity may name (one of our actors, one of our
posts). Which requests ask for ActivityStreams is web/negotiation.py.

Federation needs addresses that never change: in production it answers only on a site
with a base URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from quart import current_app, url_for
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.exceptions import HTTPException

from components import posts
from components.models import Media, Post, Tag
from web import site
from web.urls import media_url, post_url


def available() -> None:
    """404 where federation cannot answer: ids made from the request's Host would change
    with each request that names another."""
    site.fixed_origin_required()


class Links:
    """This site's absolute addresses on `origin` (needs an app or request context)."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def actor(self, username: str) -> str:
        return self.origin + url_for("federation.actor", username=username)

    def shared_inbox(self) -> str:
        return self.origin + url_for("federation.shared_inbox")

    def post(self, post: Post) -> str:
        return self.origin + post_url(post)

    def tag(self, tag: Tag) -> str:
        return self.origin + url_for("blog.tag", slug=tag.slug)

    def author_page(self, slug: str) -> str:
        return self.origin + url_for("blog.author", slug=slug)

    def home(self) -> str:
        return self.origin + url_for("blog.home")

    def media(self, item: Media) -> str:
        return self.origin + media_url(item)


def _match(url: str) -> tuple[str, dict[str, object]] | None:
    """The endpoint and values of one of this site's addresses; None for another site's."""
    parts = urlsplit(url)
    own = urlsplit(site.origin())
    if parts.netloc.lower() != own.netloc.lower() or parts.scheme != own.scheme:
        return None
    try:
        endpoint, values = current_app.url_map.bind(own.netloc).match(parts.path, method="GET")
    except HTTPException:
        return None
    return str(endpoint), dict(values)


def username_at(url: str) -> str | None:
    """The username of our actor at `url`, if it is one."""
    found = _match(url)
    if found is None or found[0] != "federation.actor":
        return None
    return str(found[1]["username"])


async def post_at(session: AsyncSession, url: str) -> Post | None:
    """The public post or page at `url`, if it is one of ours."""
    found = _match(url)
    if found is None:
        return None
    endpoint, values = found
    if endpoint == "blog.post":
        return await posts.visible_post(session, str(values["slug"]))
    if endpoint == "blog.page":
        return await posts.find_page(session, str(values["slug"]))
    return None
