"""The reader's pages: the list of posts, one post, tags and the archive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from quart import Blueprint, Response, abort, current_app, redirect, request, url_for

from components import posts
from components.comments import reading
from components.comments.intake import Submission
from components.models import Post
from web import auth
from web.database import get_db
from web.htmx import render
from web.pagecache import cached

bp = Blueprint("blog", __name__)

COMMENT_HELD = "Thank you! Your comment will appear once it has been approved."


@bp.app_template_global()
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


@bp.app_template_global()
def post_json_ld(post: Post) -> dict[str, Any]:
    """The schema.org BlogPosting that search engines read from a post page."""
    assert post.published_at is not None
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "url": post_url(post, _external=True),
        "mainEntityOfPage": post_url(post, _external=True),
        "datePublished": iso(post.published_at),
        "dateModified": iso(post.updated_at),
        "keywords": [tag.name for tag in post.tags],
        "publisher": {"@type": "Organization", "name": current_app.config["SITE_TITLE"]},
    }
    if summary := post.description or post.excerpt:
        data["description"] = summary
    return data


@bp.app_template_filter()
def iso(value: datetime) -> str:
    """A UTC timestamp to the second, as HTML's datetime, Atom and sitemaps all accept."""
    return f"{value.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


@bp.app_template_filter()
def human_date(value: datetime) -> str:
    """A date as people write it: 5 March 2026."""
    return f"{value.day} {value:%B %Y}"


def _cursor() -> posts.Cursor | None:
    """The `?before=` of a list page; a malformed one is the reader's error, not ours."""
    text = request.args.get("before")
    if text is None:
        return None
    cursor = posts.Cursor.parse(text)
    if cursor is None:
        abort(400)
    return cursor


@bp.get("/")
@cached
async def home() -> Response:
    """The newest posts as cards; `?before=` goes on from where a page ended."""
    before = _cursor()
    found = await posts.page(get_db(), limit=current_app.config["POSTS_PER_PAGE"], before=before)
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
        return redirect(canonical, 301)
    notice = COMMENT_HELD if request.args.get("comment") == "held" else None
    return await render_post(found, reply_to=request.args.get("reply_to", type=int), notice=notice)


async def render_post(
    found: posts.Reading,
    *,
    status: int = 200,
    form: Submission | None = None,
    errors: dict[str, str] | None = None,
    reply_to: int | None = None,
    notice: str | None = None,
) -> Response:
    """A post page, with its comments and the comment form (kept as sent, on a refusal)."""
    db = get_db()
    post = found.post
    shown = post.comments_enabled or current_app.config["CLOSED_COMMENTS"] == "show"
    threads = await reading.threads(db, post.id) if found.comment_count and shown else []
    parent = None
    if reply_to is not None and post.comments_enabled:
        parent = next((t.comment for t in threads if t.comment.id == reply_to), None)
    return await render(
        "post.html",
        "partials/post.html",
        status=status,
        post=post,
        comment_count=found.comment_count,
        last_event=found.last_event,
        older=found.older,
        newer=found.newer,
        threads=threads,
        show_comments=shown,
        form=form or Submission(),
        errors=errors or {},
        parent=parent,
        notice=notice,
        user=await auth.current_user(),
    )


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
    found = await posts.page(
        db, limit=current_app.config["POSTS_PER_PAGE"], before=before, tag=found_tag
    )
    more = url_for("blog.tag", slug=slug, before=str(found.next)) if found.next else None
    return await render(
        "tag.html",
        "partials/post_page.html",
        tag=found_tag,
        page=found,
        before=before,
        more_url=more,
    )


@bp.get("/archive")
@cached
async def archive() -> Response:
    """Every post, grouped by year and month."""
    listed = await posts.archive(get_db())
    return await render("archive.html", "partials/archive.html", posts=listed)
