"""The moderation queue: approve, mark as spam or delete comments, in place or by plain forms.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

from quart import Blueprint, Response, abort, render_template, request

from components.comments import events, moderation
from components.comments.events import Change
from components.comments.moderation import Verdict
from components.models import Comment, CommentStatus, User
from web import auth, notices, streams
from web.database import get_db
from web.htmx import wants_fragment
from web.responses import fragment, render, see_other

bp = Blueprint("moderation", __name__, url_prefix="/admin/comments")

SHOWN: dict[str, CommentStatus | None] = {
    "pending": CommentStatus.PENDING,
    "approved": CommentStatus.APPROVED,
    "spam": CommentStatus.SPAM,
    "all": None,
}


@bp.app_template_global()
async def pending_comments() -> int:
    """How many comments wait for the signed-in writer, for the admin navigation."""
    user = await auth.current_user()
    return await moderation.pending_count(get_db(), user) if user else 0


async def _moderated(comment_id: int) -> tuple[User, Comment]:
    """The comment, if this user moderates it: 404 when there is none, 403 when not theirs."""
    user = await auth.current_user()
    assert user is not None, "views here are behind login_required"
    comment = await moderation.for_moderation(get_db(), comment_id)
    if comment is None:
        abort(404)
    if not moderation.can_moderate(user, comment):
        abort(403)
    return user, comment


def _back(notice: str) -> Response:
    """Without JavaScript: back to the queue the form was sent from."""
    return see_other(notices.url_with_notice("moderation.queue", notice, status=_shown()))


@bp.get("/")
@auth.login_required
async def queue() -> Response:
    """Comments on your posts (an admin: on every post), pending ones first by default."""
    user = await auth.current_user()
    assert user is not None
    shown = request.args.get("status", "pending")
    if shown not in SHOWN:
        abort(400, "Unknown status: use pending, approved, spam or all.")
    db = get_db()
    found = await moderation.queue(db, user=user, status=SHOWN[shown])
    return await render(
        "comments_queue.html",
        "partials/comments_queue.html",
        comments=found,
        counts=await moderation.counts(db, user),
        shown=shown,
        user=user,
        notice=notices.notice(),
        last_event=await events.latest(db),
    )


@bp.get("/stream")
@auth.login_required
async def stream() -> Response:
    """The queue, live: new comments arrive, judged ones change, deleted ones go."""
    user = await auth.current_user()
    assert user is not None
    shown = _shown()
    hub = streams.get_hub()

    async def render(change: Change) -> str:
        if not (user.is_admin or change.post_author_id == user.id):
            return ""  # someone else's post: only the event id moves on
        async with hub.session() as session:
            pending = await moderation.pending_count(session, user)
        return await render_template(
            "partials/queue_live.html",
            change=change,
            comment=change.comment,
            shown=shown,
            user=user,
            pending=pending,
        )

    return await streams.open_stream(post_id=None, after=streams.requested_after(), render=render)


async def _judged(comment_id: int, verdict: Verdict, notice: str) -> Response:
    user, comment = await _moderated(comment_id)
    await moderation.judge(get_db(), comment, verdict)
    if wants_fragment():
        return await fragment(
            "partials/comment_row.html", comment=comment, user=user, shown=_shown(), oob_count=True
        )
    return _back(notice.format(name=comment.author_name))


def _shown() -> str:
    """The queue an action was taken from, to return to (pending when unknown)."""
    shown = request.args.get("status", "pending")
    return shown if shown in SHOWN else "pending"


@bp.post("/<int:comment_id>/approve")
@auth.login_required
async def approve(comment_id: int) -> Response:
    """Publish a comment: readers see it at once."""
    return await _judged(comment_id, Verdict.APPROVE, "Approved the comment by {name}.")


@bp.post("/<int:comment_id>/spam")
@auth.login_required
async def spam(comment_id: int) -> Response:
    """Hide a comment as spam; it is kept until `quire comments purge-spam`."""
    return await _judged(comment_id, Verdict.SPAM, "Marked the comment by {name} as spam.")


@bp.get("/<int:comment_id>/delete")
@auth.login_required
async def confirm_delete(comment_id: int) -> Response:
    """Without JavaScript, deleting asks on a page of its own."""
    _, comment = await _moderated(comment_id)
    return await render(
        "comment_delete.html", "comment_delete.html", comment=comment, shown=_shown()
    )


@bp.post("/<int:comment_id>/delete")
@auth.login_required
async def delete(comment_id: int) -> Response:
    """Delete a comment and its replies for good."""
    _, comment = await _moderated(comment_id)
    name = comment.author_name
    await moderation.remove(get_db(), comment)
    if wants_fragment():
        # The row leaves the page by `data-hx-swap="delete"`; the count in the navigation follows.
        return await fragment("partials/pending_count.html", oob=True)
    return _back(f"Deleted the comment by {name}.")
