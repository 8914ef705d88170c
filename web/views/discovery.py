"""What machines read: Atom feeds, the sitemap and robots.txt.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

from datetime import datetime

from quart import Blueprint, Response, abort, current_app, render_template

from components import authors, posts, series
from components.authors import Byline
from components.models import Post, Tag
from web import site
from web.database import get_db
from web.pages.respond import cached, last_changed, respond

bp = Blueprint("discovery", __name__)

ATOM = "application/atom+xml; charset=utf-8"


async def _send(body: str, content_type: str, last_modified: datetime) -> Response:
    """A public, revalidated response: ETag and Last-Modified, 304 when nothing changed."""
    response = Response(body, content_type=content_type)
    return await respond(response, last_modified)


async def _feed(
    title: str, entries: list[Post], tag: Tag | None = None, author: Byline | None = None
) -> Response:
    updated = await last_changed()
    body = await render_template(
        "feed.xml", title=title, entries=entries, tag=tag, author=author, updated=updated
    )
    return await _send(body, ATOM, updated)


@bp.get("/feed.xml")
@cached
async def feed() -> Response:
    """The newest posts in full, as Atom."""
    entries = await posts.for_feed(get_db(), limit=current_app.config["FEED_ENTRIES"])
    return await _feed(site.current().title, list(entries))


@bp.get("/tags/<slug>/feed.xml")
@cached
async def tag_feed(slug: str) -> Response:
    """The newest posts of one tag, as Atom."""
    db = get_db()
    tag = await posts.public_tag(db, slug)
    if tag is None:
        abort(404)
    entries = await posts.for_feed(db, limit=current_app.config["FEED_ENTRIES"], tag=tag)
    return await _feed(f"#{tag.name} · {site.current().title}", list(entries), tag)


@bp.get("/series/<slug>/feed.xml")
@cached
async def series_feed(slug: str) -> Response:
    """The newest parts of one series, as Atom: a reader follows it for the parts to come."""
    db = get_db()
    found = await series.public(db, slug)
    if found is None:
        abort(404)
    limit = current_app.config["FEED_ENTRIES"]
    entries = await posts.for_feed(db, limit=limit, where=series.is_part_of(found))
    return await _feed(f"{found.name} · {site.current().title}", list(entries))


@bp.get("/authors/<slug>/feed.xml")
@cached
async def author_feed(slug: str) -> Response:
    """The newest posts of one author, as Atom."""
    db = get_db()
    author = await authors.by_slug(db, slug, site.default_author())
    if author is None:
        abort(404)
    where = authors.writes(author.byline, site.default_author())
    entries = await posts.for_feed(db, limit=current_app.config["FEED_ENTRIES"], where=where)
    title = f"{author.byline.name} · {site.current().title}"
    return await _feed(title, list(entries), author=author.byline)


@bp.get("/sitemap.xml")
@cached
async def sitemap() -> Response:
    """Every public address a search engine should know, with when it last changed."""
    db = get_db()
    listed, tags = await posts.for_sitemap(db)
    people = await authors.with_posts(db, site.default_author())
    stories = await series.public_slugs(db)
    updated = await last_changed()
    body = await render_template(
        "sitemap.xml", posts=listed, tags=tags, authors=people, series=stories, updated=updated
    )
    return await _send(body, "application/xml; charset=utf-8", updated)


@bp.get("/robots.txt")
@cached
async def robots() -> Response:
    """Crawlers are welcome everywhere public, and told where the sitemap is."""
    body = await render_template("robots.txt")
    return await _send(body, "text/plain; charset=utf-8", await last_changed())
