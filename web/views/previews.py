"""Private preview links: the writer makes, lists and revokes them in the editor, and
whoever holds one reads the post at /preview/<token> without signing in.

A new link is answered in place, never redirected to, so that its token appears in no
address, history or log of the writer's, and the answer is stored nowhere: the database
keeps only its hash (components/previews.py). Opening the preview puts its address in
the access log, as opening a password link does.

In the editor the box sits inside the editor's own form, so its buttons post with
`formaction` (the form's other fields are ignored here); htmx swaps the box alone, and a
plain form post gets the Preview links page.

The preview itself is never indexed, cached or sent as a Referer, and has no comments,
share buttons, Webmention or ActivityPub links. Once the post is public, a live link
answers 302 to its public address: the reviewer lands on the real page (comments and
all), and no second copy of a public post lives on under noindex. An unknown, expired
or revoked link answers 404, whatever the post.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, abort, render_template, request, url_for

from components import previews, writing
from components.models import Post, User
from web import auth, notices
from web.database import get_db
from web.htmx import wants_fragment
from web.pages.respond import unstored
from web.responses import moved, render, see_other
from web.urls import post_url

bp = Blueprint("previews", __name__)
# The lifetimes the editor's buttons offer, wherever the box is included.
bp.record_once(
    lambda state: state.app.jinja_env.globals.update(
        preview_lifetimes=previews.LIFETIMES, preview_default_days=previews.DEFAULT_DAYS
    )
)

CHOOSE = "Choose how long the link works: 1, 7 or 30 days."
GONE = "This link was revoked already, or has expired."
NOT_FOUND = (
    "This preview link has expired, was revoked, or never existed. "
    "Ask whoever sent it for a new one."
)
# Said on every preview answer, and on its 404 and redirect.
PRIVATE = {
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
}


def _private(response: Response) -> Response:
    response.headers.update(PRIVATE)
    return response


async def _own_post(post_id: int) -> tuple[User, Post]:
    """The post, if this user may edit it (the editor's rule): 404, else 403."""
    user = await auth.current_user()
    assert user is not None, "views here are behind login_required"
    post = await writing.for_editing(get_db(), post_id)
    if post is None:
        abort(404, "There is no such post.")
    if not writing.can_edit(user, post):
        abort(403, "Only the post's author or an admin can manage its preview links.")
    return user, post


async def _links(user: User, post: Post, *, status: int = 200, **context: Any) -> Response:
    """The Preview links page, or for htmx the box alone (the editor's)."""
    context.setdefault("preview_new", None)
    context.setdefault("preview_error", None)
    context.setdefault("preview_notice", notices.notice())
    response = await render(
        "preview_links.html",
        "partials/preview_links.html",
        status=status,
        user=user,
        post=post,
        preview_links=await previews.for_post(get_db(), post.id),
        **context,
    )
    if context["preview_new"]:
        # The token is in this answer and nowhere else: kept by no cache, sent to no site.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/admin/posts/<int:post_id>/previews")
@auth.login_required
async def links(post_id: int) -> Response:
    """A post's live preview links, with the buttons that make and revoke them."""
    user, post = await _own_post(post_id)
    return await _links(user, post)


@bp.post("/admin/posts/<int:post_id>/previews")
@auth.login_required
async def create(post_id: int) -> Response:
    """A new link for `lifetime` days (7 when not said), shown this once."""
    user, post = await _own_post(post_id)
    days = previews.lifetime((await request.form).get("lifetime"))
    if days is None:
        return await _links(user, post, status=400, preview_error=CHOOSE)
    try:
        made = await previews.create(get_db(), post, days=days)
    except previews.Refused as refused:
        return await _links(user, post, status=409, preview_error=str(refused))
    url = url_for("previews.show", token=made.token, _external=True)
    return await _links(user, post, preview_new=url)


@bp.post("/admin/posts/<int:post_id>/previews/<int:link_id>/revoke")
@auth.login_required
async def revoke(post_id: int, link_id: int) -> Response:
    """Revoke one link: from now on it answers 404."""
    user, post = await _own_post(post_id)
    if not await previews.revoke(get_db(), post.id, link_id):
        return await _links(user, post, status=404, preview_error=GONE)
    notice = "Link revoked: it opens nothing now."
    if wants_fragment():
        return await _links(user, post, preview_notice=notice)
    return see_other(notices.url_with_notice("previews.links", notice, post_id=post.id))


@bp.get("/preview/<token>")
async def show(token: str) -> Response:
    """The post a live link opens, as it will look published, for anyone holding it."""
    db = get_db()
    found = await previews.resolve(db, token)
    if found is None:
        page = await render(
            "error.html",
            "partials/error.html",
            status=404,
            code=404,
            title="Preview link not found",
            message=NOT_FOUND,
        )
        return _private(page)
    if not previews.may_preview(found.post):
        return _private(moved(post_url(found.post), 302))
    post = previews.as_published(db, found.post)
    page = Response(await render_template("preview.html", post=post, expires_at=found.expires_at))
    return _private(await unstored(page))
