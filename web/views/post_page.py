"""The post page as views render it: the reader's view of a post, and the comment views
that answer a refused comment with the page and its form as sent."""

from __future__ import annotations

from quart import Response, current_app

from components import posts, series
from components.comments import reading
from components.comments.intake import Submission
from web import auth
from web.database import get_db
from web.responses import render
from web.urls import card_image

COMMENT_HELD = "Thank you! Your comment will appear once it has been approved."


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
    parts = await series.parts(db, post.series) if post.series is not None else None
    reactions = await reading.reactions(db, post.id) if found.reaction_count else None
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
        parts=parts,
        newer=found.newer,
        threads=threads,
        reactions=reactions,
        show_comments=shown,
        form=form or Submission(),
        errors=errors or {},
        parent=parent,
        notice=notice,
        user=await auth.current_user(),
        card_image=await card_image(post),
    )
