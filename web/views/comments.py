"""Readers' comments on a post: the form, the reply form, the feed and the live stream.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from quart import Blueprint, Response, abort, current_app, render_template, request
from werkzeug.datastructures import MultiDict

from components import posts
from components.comments import intake, reading
from components.comments.events import Change
from components.comments.intake import Submission
from components.models import Comment, CommentEventKind, CommentStatus, Post, User
from components.text import parse_id
from web import auth, csrf, streams
from web.database import get_db
from web.htmx import wants_fragment
from web.pages.respond import cached, last_changed, respond
from web.responses import fragment, see_other
from web.urls import post_url
from web.views.post_page import COMMENT_HELD, render_post

bp = Blueprint("comments", __name__)

AT_POST = "/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/<int(fixed_digits=2):day>/<slug>"
# A commenter's browser keeps a random token; once one of its comments is approved,
# the next ones are published without waiting (moderation "first").
COMMENTER_COOKIE = "quire_commenter"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
ATOM = "application/atom+xml; charset=utf-8"
COMMENT_SHOWN = "Thank you! Your comment is published."


async def _post_at(year: int, month: int, day: int, slug: str) -> Post:
    post = await posts.visible_post(get_db(), slug)
    published = post.published_at if post else None
    if published is None or (published.year, published.month, published.day) != (year, month, day):
        abort(404)
    assert post is not None
    return post


def _submission(form: MultiDict[str, str]) -> Submission:
    parent = form.get("parent_id", "").strip()
    return Submission(
        name=form.get("name", "")[:1000],
        website=form.get("website", "")[:1000],
        body=form.get("body", "")[:50_000],
        # One that cannot be an id is answered like a reply to a comment no longer there.
        parent_id=(parse_id(parent) or 0) if parent else None,
        trap=form.get("topic", ""),
        stamp=form.get("stamp", "")[:500],
    )


def _commenter_token() -> tuple[str, bool]:
    """This browser's commenter token, and whether it is new."""
    token = request.cookies.get(COMMENTER_COOKIE, "")
    if _TOKEN.fullmatch(token):
        return token, False
    return secrets.token_urlsafe(24), True


@bp.post(f"{AT_POST}/comments")
@csrf.open_to_readers
async def create(year: int, month: int, day: int, slug: str) -> Response:
    """Take a comment: in place for htmx, post/redirect/get to it without JavaScript."""
    post = await _post_at(year, month, day, slug)
    form = _submission(await request.form)
    user = await auth.current_user()
    token, new_token = _commenter_token()
    try:
        comment = await intake.submit(
            get_db(),
            post,
            form,
            rules=current_app.config["COMMENT_RULES"],
            secret=current_app.config["SECRET_KEY"],
            ip=auth.client_ip(),
            commenter="" if user else intake.commenter_hash(token),
            user=user,
        )
    except intake.Closed:
        abort(403, "Comments are closed on this post.")
    except intake.Refused as refused:
        return await _refused(post, form, refused, user)
    response = await _accepted(post, comment, user)
    if user is None and new_token:
        response.set_cookie(
            COMMENTER_COOKIE,
            token,
            max_age=int(timedelta(days=365).total_seconds()),
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


async def _accepted(post: Post, comment: Comment, user: User | None) -> Response:
    shown = comment.status is CommentStatus.APPROVED
    if not wants_fragment():
        if shown:
            return see_other(f"{post_url(post)}#comment-{comment.id}")
        return see_other(f"{post_url(post, comment='held')}#comment-form")
    parent = await reading.visible(get_db(), comment.parent_id) if comment.parent_id else None
    return await fragment(
        "partials/comment_posted.html",
        post=post,
        comment=comment if shown else None,
        form=Submission(),
        errors={},
        parent=parent,
        # A reply form is done once it is sent; the post's own form is ready for the next.
        done=parent is not None,
        in_slot=parent is not None,
        notice=COMMENT_SHOWN if shown else COMMENT_HELD,
        user=user,
    )


async def _refused(
    post: Post, form: Submission, refused: intake.Refused, user: User | None
) -> Response:
    """The form again, as it was sent, with what to change beside the fields."""
    db = get_db()
    if wants_fragment():
        parent = await reading.visible(db, form.parent_id) if form.parent_id else None
        response = await fragment(
            "partials/comment_form.html",
            status=refused.status,
            post=post,
            form=form,
            errors=refused.errors,
            parent=parent,
            in_slot=parent is not None,
            user=user,
        )
    else:
        found = await posts.find_visible(db, post.slug)
        if found is None:
            abort(404)
        response = await render_post(
            found,
            status=refused.status,
            form=form,
            errors=refused.errors,
            reply_to=form.parent_id,
        )
    if refused.retry_after:
        response.headers["Retry-After"] = str(refused.retry_after)
    return response


@bp.get(f"{AT_POST}/comments/<int:comment_id>/reply")
async def reply_form(year: int, month: int, day: int, slug: str, comment_id: int) -> Response:
    """The form to answer one comment, opened under it; without JavaScript, the post's own
    form becomes the reply form."""
    post = await _post_at(year, month, day, slug)
    parent = await reading.visible(get_db(), comment_id)
    if parent is None or parent.post_id != post.id or parent.parent_id is not None:
        abort(404)
    if not wants_fragment():
        return see_other(f"{post_url(post, reply_to=comment_id)}#comment-form")
    if not post.comments_enabled:
        abort(403, "Comments are closed on this post.")
    return await fragment(
        "partials/comment_form.html",
        post=post,
        form=Submission(),
        errors={},
        parent=parent,
        in_slot=True,
        user=await auth.current_user(),
    )


@bp.get(f"{AT_POST}/comments/feed.xml")
@cached
async def feed(year: int, month: int, day: int, slug: str) -> Response:
    """A post's newest comments, as Atom."""
    post = await _post_at(year, month, day, slug)
    db = get_db()
    entries = await reading.for_feed(db, post.id, limit=current_app.config["FEED_ENTRIES"])
    updated = await last_changed()
    body = await render_template("comments_feed.xml", post=post, entries=entries, updated=updated)
    response = Response(body, content_type=ATOM)
    return await respond(response, updated)


@bp.get(f"{AT_POST}/comments/stream")
async def stream(year: int, month: int, day: int, slug: str) -> Response:
    """A post's comments as they are published or withdrawn: server-sent events."""
    post = await _post_at(year, month, day, slug)
    if not post.comments_enabled and current_app.config["CLOSED_COMMENTS"] == "hide":
        abort(404)

    async def render(change: Change) -> str:
        return await streams.get_hub().rendered("readers", change, _for_readers)

    return await streams.open_stream(
        post_id=post.id, after=streams.requested_after(), render=render
    )


async def _for_readers(change: Change) -> str:
    """What readers' pages do with a change: show the comment, or take it away."""
    if change.kind is CommentEventKind.RECEIVED:
        return ""  # held for moderation: nothing to show yet
    comment = change.shows
    return await render_template(
        "partials/comment_live.html",
        change=change,
        comment=comment,
        post=comment.post if comment else None,
        comment_count=change.shown_count,
    )
