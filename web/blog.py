"""The reader's pages: the home page and the post page."""

from __future__ import annotations

from datetime import date, datetime

from quart import Blueprint, Response, abort, current_app, url_for

from components import posts
from components.models import Post
from web.database import get_db
from web.htmx import render

bp = Blueprint("blog", __name__)


@bp.app_template_global()
def post_url(post: Post, **values: str) -> str:
    """The canonical address of a post: its publication date and slug."""
    published = post.published_at
    assert published is not None, "only published posts have a public address"
    return url_for(
        "blog.post",
        year=published.year,
        month=published.month,
        day=published.day,
        slug=post.slug,
        **values,
    )


@bp.app_template_filter()
def human_date(value: datetime) -> str:
    """A date as people write it: 5 March 2026."""
    return f"{value.day} {value:%B %Y}"


@bp.get("/")
async def home() -> Response:
    """The newest posts, as cards."""
    latest = await posts.latest(get_db(), current_app.config["POSTS_PER_PAGE"])
    return await render("home.html", "partials/post_list.html", posts=latest)


@bp.get("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/<int(fixed_digits=2):day>/<slug>")
async def post(year: int, month: int, day: int, slug: str) -> Response:
    """One post, at the address made of its publication date and slug."""
    try:
        published_on = date(year, month, day)
    except ValueError:
        abort(404)
    found = await posts.find_visible(get_db(), published_on, slug)
    if found is None:
        abort(404)
    return await render("post.html", "partials/post.html", post=found)
