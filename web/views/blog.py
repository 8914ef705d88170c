"""The reader's pages: the list of posts, one post, tags and the archive.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, request, url_for

from components import authors, posts, series
from components.text import parse_id
from web import site
from web.database import get_db
from web.pages.respond import cached
from web.responses import moved, render
from web.urls import card_image, post_url
from web.views.post_page import COMMENT_HELD, render_post

bp = Blueprint("blog", __name__)


def _cursor() -> posts.Cursor | None:
    """The `?before=` of a list page; a malformed one is the reader's error, not ours."""
    text = request.args.get("before")
    if text is None:
        return None
    cursor = posts.Cursor.parse(text)
    if cursor is None:
        abort(400)
    return cursor


# A list restored by Back holds as many pages as the reader had scrolled through, up to this.
MAX_RESTORED_PAGES = 10


def _pages_asked() -> int:
    """The `?pages=` of a list page: how many pages to show at once, as Back restores a list
    scrolled further than its first page (static/js/quire.js)."""
    text = request.args.get("pages")
    if text is None:
        return 1
    if not text.isdigit() or not 1 <= int(text) <= MAX_RESTORED_PAGES:
        abort(400, f"pages must be a whole number from 1 to {MAX_RESTORED_PAGES}.")
    return int(text)


def _page_size() -> int:
    """How many cards this request's list page holds."""
    per_page: int = current_app.config["POSTS_PER_PAGE"]
    return per_page * _pages_asked()


# WordPress's addresses without pretty permalinks: /?p=123 for a post, /?page_id=4 for a page.
WORDPRESS_IDS = frozenset({"p", "page_id"})


async def _wordpress_address() -> Response:
    """A 301 from an imported post's or page's WordPress address, else 404."""
    for key in sorted(WORDPRESS_IDS & request.args.keys()):
        if (number := parse_id(request.args[key])) is not None:
            found = await posts.moved_to(get_db(), f"/?{key}={number}")
            if found is not None:
                return moved(post_url(found))
    abort(404)


@bp.get("/")
@cached
async def home() -> Response:
    """The newest posts as cards; `?before=` goes on from where a page ended."""
    if request.args.keys() & WORDPRESS_IDS:
        return await _wordpress_address()
    before = _cursor()
    found = await posts.page(get_db(), limit=_page_size(), before=before)
    more = url_for("blog.home", before=str(found.next)) if found.next else None
    return await render(
        "home.html", "partials/post_page.html", page=found, before=before, more_url=more
    )


@bp.get("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/<int(fixed_digits=2):day>/<slug>")
@cached
async def post(year: int, month: int, day: int, slug: str) -> Response:
    """One post at its canonical address; a Jekyll `.html` address or a wrong date moves there.

    A post missing here may still be found at a former address by the 404 handler.
    """
    found = await posts.find_visible(get_db(), slug.removesuffix(".html"))
    if found is None:
        abort(404)
    canonical = post_url(found.post)
    if url_for("blog.post", year=year, month=month, day=day, slug=slug) != canonical:
        return moved(canonical)
    notice = COMMENT_HELD if request.args.get("comment") == "held" else None
    return await render_post(found, reply_to=request.args.get("reply_to", type=int), notice=notice)


@bp.get("/tags")
@cached
async def tags() -> Response:
    """Every tag in use, with how many posts carry it."""
    in_use = await posts.tags_in_use(get_db())
    return await render("tags.html", "partials/tag_list.html", tags=in_use)


@bp.get("/tags/<slug>")
@cached
async def tag(slug: str) -> Response:
    """The posts of one tag, paginated like the home page."""
    before = _cursor()
    db = get_db()
    found_tag = await posts.public_tag(db, slug)
    if found_tag is None:
        abort(404)
    found = await posts.page(db, limit=_page_size(), before=before, tag=found_tag)
    more = url_for("blog.tag", slug=slug, before=str(found.next)) if found.next else None
    return await render(
        "tag.html",
        "partials/post_page.html",
        tag=found_tag,
        page=found,
        before=before,
        more_url=more,
    )


@bp.get("/series/<slug>", endpoint="series")
@cached
async def series_page(slug: str) -> Response:
    """Every published part of a series, oldest first: the order to read them in."""
    db = get_db()
    found = await series.public(db, slug)
    if found is None:
        abort(404)
    parts = await posts.page(
        db, limit=series.MAX_LISTED_PARTS, where=series.is_part_of(found), oldest_first=True
    )
    return await render("series.html", "partials/series_list.html", series=found, page=parts)


@bp.get("/authors/<slug>")
@cached
async def author(slug: str) -> Response:
    """One author: their name, bio, avatar and links, and their posts like the home page."""
    before = _cursor()
    db = get_db()
    default = site.default_author()
    found = await authors.by_slug(db, slug, default)
    if found is None:
        abort(404)
    listed = await posts.page(
        db, limit=_page_size(), before=before, where=authors.writes(found.byline, default)
    )
    more = url_for("blog.author", slug=slug, before=str(listed.next)) if listed.next else None
    return await render(
        "author.html",
        "partials/post_page.html",
        author=found,
        page=listed,
        before=before,
        more_url=more,
    )


@bp.get("/archive")
@cached
async def archive() -> Response:
    """Every post, grouped by year and month."""
    listed = await posts.archive(get_db())
    return await render("archive.html", "partials/archive.html", posts=listed)


# Last: a page's address is one segment, which every other route's first segment
# outranks; the editor refuses a page address that a route already takes.
@bp.get("/<slug>")
@cached
async def page(slug: str) -> Response:
    """A standalone page (About, Now, Uses...), never listed with the posts."""
    found = await posts.find_page(get_db(), slug)
    if found is None:
        abort(404)
    return await render(
        "page.html", "partials/article.html", post=found, card_image=await card_image(found)
    )
