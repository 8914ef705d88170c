"""Posts rendered again when Quire renders Markdown differently (markdown.VERSION).

HTML is made once, when a post is saved; a new Quire that renders code blocks or callouts
better would leave every older post as it was. `quire render` (and `quire db upgrade`)
goes through the posts an older rendering made, in id order, a few per transaction, so
it can be stopped and run again and never holds the database for long. Each post is
written with an UPDATE that leaves its version alone (an open editor is not told of a
conflict that is none) and only if that version is still the one read: a post saved
meanwhile was rendered by its save.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from components import clock, markdown, render_pool
from components.markdown import Picture
from components.media.library import pictures
from components.models import Media, Post
from components.render_pool import RenderRefused

BATCH = 20


@dataclass(frozen=True)
class Links:
    """The addresses the web layer gives library images (components/ knows none)."""

    url: Callable[[Media], str]
    picture: Callable[[Media], Picture | None]


def _stale() -> ColumnElement[bool]:
    return Post.render_version < markdown.VERSION


async def stale_count(session: AsyncSession) -> int:
    """How many posts an older rendering made."""
    return await session.scalar(select(func.count()).select_from(Post).where(_stale())) or 0


async def render_batch(
    session: AsyncSession,
    links: Links,
    *,
    after: int = 0,
    limit: int = BATCH,
    refusals: list[str] | None = None,
) -> tuple[int, int]:
    """Render again up to `limit` stale posts with ids above `after`; (the last id seen,
    how many were written). Flushed, not committed. A post the renderer refuses (too
    slow, too big) keeps its HTML; why is added to `refusals`."""
    if refusals is None:
        refusals = []
    rows = (
        await session.execute(
            select(Post.id, Post.body, Post.version)
            .where(_stale(), Post.id > after)
            .order_by(Post.id)
            .limit(limit)
        )
    ).all()
    shown = [
        await pictures(session, body, url=links.url, picture=links.picture) for _, body, _ in rows
    ]
    # The batch's renders go to the pool together: with one worker per core (`quire
    # render`) they run side by side; the writes below stay one at a time, in id order.
    results = await asyncio.gather(
        *(render_pool.render(row.body, found) for row, found in zip(rows, shown, strict=True)),
        return_exceptions=True,
    )
    written = 0
    for (post_id, _, version), rendered in zip(rows, results, strict=True):
        if isinstance(rendered, RenderRefused):
            # Left as it was, stale: it shows its older HTML until its writer shortens it.
            refusals.append(f"post {post_id}: {rendered}")
            continue
        if isinstance(rendered, BaseException):
            raise rendered
        result = await session.execute(
            update(Post)
            .where(Post.id == post_id, Post.version == version)
            .values(
                body_html=rendered.html,
                body_text=rendered.text,
                excerpt=rendered.excerpt,
                reading_minutes=rendered.reading_minutes,
                toc=rendered.toc,
                render_version=markdown.VERSION,
            )
            .execution_options(synchronize_session=False)
        )
        written += getattr(result, "rowcount", 0) or 0
    if written:
        # Readers' kept pages hold the old HTML: the clock moves, so they are made anew.
        await clock.touch(session)
    return (rows[-1][0] if rows else after), written
