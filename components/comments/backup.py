"""A blog's comments in an export, and back: `_data/quire_comments.yml`.

The file maps each post's slug to its comments in the order they came, each with the
export's id and its parent's, so that threads come back as they were; approved,
waiting and spam alike (spam is kept until purged, so a restore keeps it too). Readers'
addresses (IP) and browser tokens stay out: they serve only rate limits and are
personal data a backup need not spread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components import yaml_limits
from components.comments import markup
from components.models import Comment, CommentStatus, Post

COMMENTS_FILE = Path("_data") / "quire_comments.yml"
MAX_NAME = 100
MAX_URL = 300


class BackupError(ValueError):
    """A comments file that cannot be read; str() says what and where."""


@dataclass(frozen=True)
class Entry:
    id: int
    parent: int | None
    name: str
    url: str
    body: str
    status: CommentStatus
    date: datetime
    # Its id in the WordPress export it came from, kept so that a later WordPress import
    # into the restored blog still finds the parents of its replies.
    wordpress_id: int | None = None


async def dump(session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
    """Every comment, by its post's slug, in the order they came."""
    rows = await session.execute(
        select(Post.slug, Comment).join(Post, Post.id == Comment.post_id).order_by(Comment.id)
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for slug, comment in rows:
        entry: dict[str, Any] = {"id": comment.id}
        if comment.parent_id is not None:
            entry["parent"] = comment.parent_id
        entry["name"] = comment.author_name
        if comment.author_url:
            entry["url"] = comment.author_url
        entry["date"] = comment.created_at.astimezone(UTC).isoformat()
        entry["status"] = comment.status.value
        entry["body"] = comment.body
        if comment.wordpress_id is not None:
            entry["wordpress_id"] = comment.wordpress_id
        out.setdefault(slug, []).append(entry)
    return out


def _entry(raw: Any, where: str) -> Entry:
    if not isinstance(raw, dict):
        raise BackupError(f"{where}: a comment must be a mapping of id, name, date, body...")
    try:
        status = CommentStatus(str(raw.get("status", "approved")))
        date = raw.get("date")
        moment = date if isinstance(date, datetime) else datetime.fromisoformat(str(date))
        parent = raw.get("parent")
        wordpress_id = raw.get("wordpress_id")
        return Entry(
            id=int(raw["id"]),
            parent=int(parent) if parent is not None else None,
            name=" ".join(str(raw.get("name", "")).split())[:MAX_NAME] or "Anonymous",
            url=str(raw.get("url", ""))[:MAX_URL],
            body=str(raw["body"]),
            status=status,
            date=moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment,
            wordpress_id=_wordpress_id(wordpress_id),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise BackupError(f"{where}: {error}") from None


def _wordpress_id(value: Any) -> int | None:
    if value is None:
        return None
    number = int(value)
    if not 0 < number < 2**63:
        raise ValueError(f"wordpress_id {number} is no WordPress id")
    return number


def parse(text: str) -> dict[str, list[Entry]]:
    """The comments a file holds, by post slug; BackupError names the first bad one."""
    try:
        document = yaml_limits.load_data(text) or {}
    except yaml_limits.NotYaml as error:
        raise BackupError(str(error)) from None
    if not isinstance(document, dict):
        raise BackupError("must map each post's slug to its comments")
    parsed: dict[str, list[Entry]] = {}
    for slug, entries in document.items():
        if not isinstance(entries, list):
            raise BackupError(f"post {slug!r}: its comments must be a list")
        parsed[str(slug)] = [
            _entry(raw, f"post {slug!r}, comment {number}")
            for number, raw in enumerate(entries, start=1)
        ]
    return parsed


async def restore(session: AsyncSession, post_id: int, entries: list[Entry]) -> int:
    """Add to the post the comments it lacks (one from the same name at the same moment
    is the same), replies under their parents; how many were added."""
    seen = {
        (when, name): comment_id
        for comment_id, when, name in await session.execute(
            select(Comment.id, Comment.created_at, Comment.author_name).where(
                Comment.post_id == post_id
            )
        )
    }
    made: dict[int, Comment | int] = {}
    added = 0
    for entry in sorted(entries, key=lambda e: (e.parent is not None, e.id)):
        if (entry.date, entry.name) in seen:
            made[entry.id] = seen[(entry.date, entry.name)]
            continue
        parent = made.get(entry.parent) if entry.parent is not None else None
        comment = Comment(
            post_id=post_id,
            author_name=entry.name,
            author_url=entry.url if entry.url.startswith(("http://", "https://")) else "",
            body=entry.body,
            body_html=markup.render(entry.body),
            status=entry.status,
            created_at=entry.date,
            wordpress_id=entry.wordpress_id,
        )
        if isinstance(parent, Comment):
            comment.parent = parent
        elif isinstance(parent, int):
            comment.parent_id = parent
        session.add(comment)
        made[entry.id] = comment
        added += 1
    await session.flush()
    return added
