"""Revisions: every save keeps the text it saved, so nothing an author wrote is lost."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, selectinload

from components.models import Post, Revision, RevisionKind, User, utcnow

# Autosaves while someone types are folded into one revision per stretch of typing.
AUTOSAVE_STRETCH = timedelta(minutes=10)
LIST_LIMIT = 50


async def latest(session: AsyncSession, post_id: int) -> Revision | None:
    return await session.scalar(
        select(Revision).where(Revision.post_id == post_id).order_by(Revision.id.desc()).limit(1)
    )


async def record(
    session: AsyncSession,
    *,
    post_id: int,
    title: str,
    description: str,
    body: str,
    kind: RevisionKind,
    author: User | None,
) -> Revision | None:
    """Keep this text as a revision; None when it is the same as the newest one."""
    last = await latest(session, post_id)
    if last is not None and (last.title, last.description, last.body) == (title, description, body):
        return None
    author_id = author.id if author else None
    if (
        kind is RevisionKind.AUTOSAVE
        and last is not None
        and last.kind is RevisionKind.AUTOSAVE
        and last.author_id == author_id
        and utcnow() - last.created_at < AUTOSAVE_STRETCH
    ):
        last.title, last.description, last.body = title, description, body
        last.created_at = utcnow()
        await session.flush()
        return last
    revision = Revision(
        post_id=post_id,
        author_id=author_id,
        kind=kind,
        title=title,
        description=description,
        body=body,
    )
    session.add(revision)
    await session.flush()
    return revision


async def of_post(session: AsyncSession, post_id: int) -> Sequence[Revision]:
    """The newest revisions of a post, without their text."""
    query = (
        select(Revision)
        .where(Revision.post_id == post_id)
        .order_by(Revision.id.desc())
        .limit(LIST_LIMIT)
        .options(
            load_only(Revision.id, Revision.kind, Revision.created_at, Revision.author_id),
            selectinload(Revision.author).load_only(User.name),
        )
    )
    return (await session.scalars(query)).all()


async def find(session: AsyncSession, post_id: int, revision_id: int) -> Revision | None:
    return await session.scalar(
        select(Revision).where(Revision.id == revision_id, Revision.post_id == post_id)
    )


async def unsaved_autosave(session: AsyncSession, post: Post) -> Revision | None:
    """An autosave newer than the post's own text that differs from it (a published post's
    autosaves wait in revisions, so that readers never see half a sentence)."""
    last = await latest(session, post.id)
    if last is None or last.kind is not RevisionKind.AUTOSAVE:
        return None
    if (last.title, last.description, last.body) == (post.title, post.description, post.body):
        return None
    return last


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: `kind` is "add", "remove", "same" or "skip" (a fold)."""

    kind: str
    text: str


def diff(old: str, new: str, context: int = 3) -> list[DiffLine]:
    """Line by line from `old` to `new`, with a few unchanged lines around each change."""
    lines: list[DiffLine] = []
    old_lines, new_lines = old.splitlines(), new.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        if lines:
            lines.append(DiffLine("skip", "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(DiffLine("same", text) for text in old_lines[i1:i2])
                continue
            lines.extend(DiffLine("remove", text) for text in old_lines[i1:i2])
            lines.extend(DiffLine("add", text) for text in new_lines[j1:j2])
    return lines
