"""Activities received: who sent them (their HTTP Signature checked against their
actor's key), whether they may (size, rate, replay), and what they mean here.

- Follow and Undo(Follow): a follower kept, accepted at once or held for an admin,
  or gone; the Accept goes out through the outbox.
- Accept or Reject of one of our own follows: marked so (components/activitypub/following.py).
- Create(Note) replying to a post (or to a reply under one): a comment in the
  moderation queue, with the spam checks of any comment. Update(Note) replaces its text
  and moderates it again; Delete takes it down.
- Like and Announce of a post: counted on it; Undo takes them back.
- Delete of the actor itself: its follows end.

Anything else is taken (202) and left alone. An activity is only believed of its own
server: its id, and the note's, must be on the sender's host.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bs4 import BeautifulSoup
from sqlalchemy import delete, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from components import clock
from components.activitypub import actors, delivery, following
from components.activitypub.remote import host_of
from components.activitypub.signatures import CLOCK_SKEW
from components.comments import events
from components.comments.intake import DUPLICATE_WINDOW, MAX_BODY
from components.comments.markup import count_links, render
from components.comments.moderation import remove
from components.models import (
    Comment,
    CommentEventKind,
    CommentKind,
    CommentStatus,
    Follower,
    FollowerState,
    Post,
    RemoteActor,
    SeenRequest,
    utcnow,
)

# An activity's body, at most: a long reply with its HTML is some 20 KB.
MAX_BYTES = 256_000
# Activities one server may send in WINDOW; past it, 429 until the window moves on.
MAX_PER_HOST = 600
WINDOW = timedelta(minutes=5)
NOTE_TYPES = frozenset({"Note", "Article", "Page", "Question"})
MAX_HTML = 100_000
# Characters of an article's text shown in its comment when it has no summary.
ARTICLE_SUMMARY = 500


class Rejected(ValueError):
    """Why an activity is not taken, with its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Here:
    """What the inbox needs of the web side: which of our actors an address names (its
    username), and which public post."""

    username_at: Callable[[str], str | None]
    post_at: Callable[[AsyncSession, str], Awaitable[Post | None]]
    origin: str
    manual: bool = False
    max_links: int = 2


async def check_rate(session: AsyncSession, host: str) -> None:
    """Rejected (429) when `host` sent MAX_PER_HOST activities within WINDOW."""
    recent = (
        select(func.count())
        .select_from(SeenRequest)
        .where(SeenRequest.host == host, SeenRequest.at > utcnow() - WINDOW)
    )
    if (await session.scalar(recent) or 0) >= MAX_PER_HOST:
        raise Rejected(f"Too many activities from {host} lately; send it again later.", 429)


async def remember(session: AsyncSession, signature: str, host: str) -> None:
    """Note a signed request as taken; Rejected (401) if it was taken before (a replay).
    Requests older than their Date would be believed are forgotten."""
    digest = hashlib.sha256(signature.encode()).hexdigest()
    now = utcnow()
    pg = session.get_bind().dialect.name == "postgresql"
    statement = (postgresql.insert if pg else sqlite.insert)(SeenRequest)
    added = await session.execute(
        statement.values(signature=digest, host=host, at=now)
        .on_conflict_do_nothing()
        .returning(SeenRequest.signature)
    )
    if added.scalar() is None:
        raise Rejected("This signed request was received before: a replay is refused.", 401)
    # Only this host's rows, by the index the rate limit reads.
    await session.execute(
        delete(SeenRequest).where(
            SeenRequest.host == host, SeenRequest.at < now - max(2 * CLOCK_SKEW, WINDOW)
        )
    )


def object_id(value: Any) -> str:
    """An activity's object as an address, embedded or named."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


async def handle(
    session: AsyncSession, activity: dict[str, Any], sender: RemoteActor, here: Here
) -> str:
    """Do what `activity` asks; a few words on what was done, for the log and the
    sender. Rejected for an activity that claims what its sender cannot say."""
    kind = activity.get("type")
    activity_id = activity.get("id")
    if not isinstance(activity_id, str) or host_of(activity_id) != host_of(sender.uri):
        raise Rejected("The activity's id is missing or not on its actor's server.")
    if kind == "Follow":
        return await _follow(session, activity, sender, here)
    if kind == "Undo":
        return await _undo(session, activity.get("object"), sender, here)
    if kind in ("Accept", "Reject"):
        return await _answer(session, activity.get("object"), sender, here, kind == "Accept")
    if kind in ("Like", "Announce"):
        return await _reaction(session, activity, sender, here)
    if kind == "Create":
        return await _create(session, activity.get("object"), sender, here)
    if kind == "Update":
        return await _update(session, activity.get("object"), sender, here)
    if kind == "Delete":
        return await _delete(session, activity.get("object"), sender)
    return f"{kind!s:.40} is not used here"


async def _follow(
    session: AsyncSession, activity: dict[str, Any], sender: RemoteActor, here: Here
) -> str:
    username = here.username_at(object_id(activity.get("object")))
    actor = await actors.by_username(session, username) if username else None
    if actor is None:
        return "not one of our actors"
    follower = await session.scalar(
        select(Follower).where(Follower.actor_id == actor.row.id, Follower.remote_id == sender.id)
    )
    if follower is None:
        follower = Follower(actor_id=actor.row.id, remote_id=sender.id)
        session.add(follower)
    follower.follow_id = str(activity["id"])[:2000]
    if follower.state is not FollowerState.ACCEPTED and here.manual:
        follower.state = FollowerState.PENDING
        await session.flush()
        return "held for approval"
    if follower.state is not FollowerState.ACCEPTED:
        follower.state = FollowerState.ACCEPTED
        follower.accepted_at = utcnow()
    await session.flush()
    await delivery.queue_answer(session, follower, sender, "Accept", origin=here.origin)
    return "accepted"


async def _undo(session: AsyncSession, item: Any, sender: RemoteActor, here: Here) -> str:
    undone = object_id(item)
    kind = item.get("type") if isinstance(item, dict) else None
    followed = await session.scalar(
        select(Follower).where(Follower.remote_id == sender.id, Follower.follow_id == undone)
    )
    if followed is None and kind == "Follow" and isinstance(item, dict):
        username = here.username_at(object_id(item.get("object")))
        actor = await actors.by_username(session, username) if username else None
        if actor is not None:
            followed = await session.scalar(
                select(Follower).where(
                    Follower.actor_id == actor.row.id, Follower.remote_id == sender.id
                )
            )
    if followed is not None:
        await session.delete(followed)
        await session.flush()
        return "unfollowed"
    if host_of(undone) != host_of(sender.uri):
        return "nothing to undo"
    gone = await session.execute(
        delete(Comment).where(
            Comment.source_url == undone, Comment.kind.in_((CommentKind.LIKE, CommentKind.REPOST))
        )
    )
    if getattr(gone, "rowcount", 0):
        await clock.touch(session)
        return "taken back"
    return "nothing to undo"


async def _answer(
    session: AsyncSession, item: Any, sender: RemoteActor, here: Here, accepted: bool
) -> str:
    ours = None
    if isinstance(item, dict):
        if item.get("type", "Follow") != "Follow":
            return "not an answer to a follow"
        if object_id(item.get("object")) not in ("", sender.uri):
            raise Rejected("An actor can only answer a follow of itself.")
        username = here.username_at(object_id(item.get("actor")))
        ours = await actors.id_of(session, username) if username else None
    if not await following.answered(session, sender, item, accepted=accepted, ours=ours):
        return "not a follow of ours"
    return "follow accepted" if accepted else "follow refused"


async def _reaction(
    session: AsyncSession, activity: dict[str, Any], sender: RemoteActor, here: Here
) -> str:
    post = await here.post_at(session, object_id(activity.get("object")))
    if post is None:
        return "not about one of our posts"
    kind = CommentKind.LIKE if activity["type"] == "Like" else CommentKind.REPOST
    same = exists().where(
        Comment.post_id == post.id,
        Comment.kind == kind,
        (Comment.source_url == activity["id"]) | (Comment.author_url == sender.url),
    )
    if await session.scalar(select(same)):
        return "counted before"
    # Nothing to read in a like: counted at once, like a reader's star would be.
    session.add(
        Comment(
            post_id=post.id,
            kind=kind,
            status=CommentStatus.APPROVED,
            **_author(sender),
            body="",
            body_html="",
            source_url=str(activity["id"])[:2000],
        )
    )
    await session.flush()
    return "counted"


def _author(sender: RemoteActor) -> dict[str, str]:
    return {
        "author_name": sender.name[:100] or sender.handle[:100],
        "author_url": sender.url[:300] if len(sender.url) <= 300 else "",
        "author_avatar": sender.icon if len(sender.icon) <= 500 else "",
    }


def _note(item: Any, sender: RemoteActor) -> dict[str, Any] | None:
    """The note in a Create or Update, if it is one its sender may speak for."""
    if not isinstance(item, dict):
        return None
    kinds = item.get("type")
    if kinds not in NOTE_TYPES:
        return None
    note_id = item.get("id")
    if not isinstance(note_id, str) or host_of(note_id) != host_of(sender.uri):
        raise Rejected("The note's id is not on its author's server.")
    if object_id(item.get("attributedTo")) not in ("", sender.uri):
        raise Rejected("The note is attributed to someone other than its sender.")
    return item


async def _create(session: AsyncSession, item: Any, sender: RemoteActor, here: Here) -> str:
    note = _note(item, sender)
    if note is None:
        return "not a note"
    replied = object_id(note.get("inReplyTo"))
    if not replied:
        return "not a reply"
    post = await here.post_at(session, replied)
    parent: Comment | None = None
    if post is None:
        parent = await session.scalar(
            select(Comment).where(
                Comment.source_url == replied, Comment.kind == CommentKind.MENTION
            )
        )
        if parent is None:
            return "not a reply to one of our posts"
        post = await session.get(Post, parent.post_id)
        if parent.parent_id is not None:  # replies are one level deep
            parent = await session.get(Comment, parent.parent_id)
        if post is None:
            return "not a reply to one of our posts"
    if await session.scalar(select(exists().where(Comment.source_url == note["id"]))):
        return "received before"
    text = reply_text(note)
    comment = Comment(
        post_id=post.id,
        parent_id=parent.id if parent is not None else None,
        kind=CommentKind.MENTION,
        **_author(sender),
        body=text,
        body_html=render(text),
        source_url=note["id"][:2000],
        status=await _status(session, post, text, sender, here),
    )
    session.add(comment)
    await session.flush()
    if comment.status is CommentStatus.PENDING:
        await events.record(session, comment, CommentEventKind.RECEIVED)
        await session.flush()
    return "queued for moderation" if comment.status is CommentStatus.PENDING else "spam"


async def _status(
    session: AsyncSession, post: Post, text: str, sender: RemoteActor, here: Here
) -> CommentStatus:
    """The checks of any comment that apply to a signed reply: too many links, or the
    same words sent again, make it spam; else it waits for a moderator."""
    if count_links(text) > here.max_links:
        return CommentStatus.SPAM
    duplicate = exists().where(
        Comment.post_id == post.id,
        Comment.body == text,
        Comment.author_url == sender.url,
        Comment.created_at > utcnow() - DUPLICATE_WINDOW,
    )
    if await session.scalar(select(duplicate)):
        return CommentStatus.SPAM
    return CommentStatus.PENDING


async def _update(session: AsyncSession, item: Any, sender: RemoteActor, here: Here) -> str:
    if isinstance(item, dict) and item.get("id") == sender.uri:
        return "profile noted"  # read again when the cached copy is a day old
    note = _note(item, sender)
    if note is None:
        return "not a note"
    comment = await session.scalar(select(Comment).where(Comment.source_url == note["id"]))
    if comment is None:
        return "not one we have"
    text = reply_text(note)
    if text == comment.body:
        return "unchanged"
    post = await session.get(Post, comment.post_id)
    assert post is not None, "a comment's post exists while the comment does"
    if comment.status is CommentStatus.APPROVED:
        await events.record(session, comment, CommentEventKind.WITHDRAWN)
    comment.body = text
    comment.body_html = render(text)
    comment.status = await _status(session, post, text, sender, here)
    await session.flush()
    if comment.status is CommentStatus.PENDING:
        await events.record(session, comment, CommentEventKind.RECEIVED)
        await session.flush()
    return "changed, moderated again"


async def _delete(session: AsyncSession, item: Any, sender: RemoteActor) -> str:
    gone = object_id(item)
    if gone == sender.uri:
        await session.delete(sender)  # its follows go with it
        await session.flush()
        return "the account is gone, and its follows"
    if host_of(gone) != host_of(sender.uri):
        raise Rejected("Only its own server's notes can be deleted by an actor.")
    comment = await session.scalar(select(Comment).where(Comment.source_url == gone))
    if comment is None:
        return "not one we have"
    await remove(session, comment)
    return "deleted"


def reply_text(note: dict[str, Any]) -> str:
    """What a reply says, as a comment: a note's text; an article's title and summary
    (its whole text stays on its own page, which the comment links to)."""
    if note.get("type") not in ("Article", "Page"):
        return plain_text(note.get("content"))
    title = plain_text(note.get("name"))
    summary = plain_text(note.get("summary")) or plain_text(note.get("content"))
    if len(summary) > ARTICLE_SUMMARY:
        summary = summary[:ARTICLE_SUMMARY].rsplit(" ", 1)[0] + " …"
    return "\n\n".join(part for part in (title, summary) if part)[:MAX_BODY]


def plain_text(content: Any) -> str:
    """A note's HTML as the plain text a comment is written in: paragraphs and line
    breaks kept, every tag gone (the comment's own rules render it again)."""
    if not isinstance(content, str):
        return ""
    soup = BeautifulSoup(content[:MAX_HTML], "html.parser")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(["p", "div", "li", "blockquote", "pre"]):
        block.insert_after("\n\n")
    lines = [" ".join(line.split()) for line in soup.get_text().split("\n")]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()[:MAX_BODY]
