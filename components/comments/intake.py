"""Taking a comment: the site's rules, the form, and the defences against spam.

A comment is checked in this order, so that a person always learns the most useful
thing first: the honeypot and the form's signed timestamp (both invisible to people),
the fields themselves, how fast the form was sent, how many links it carries, how
many comments its address sent lately, and whether it was sent before. Every refusal
is a `Refused` whose messages are written for the person in front of the form.

Each change a reader could notice is also written to the `comment_events` log
(components/comments/events), in the same transaction, for the live pages
(web/streams) to follow.
"""

from __future__ import annotations

import enum
import hashlib
import math
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import exists, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.comments import events
from components.comments.markup import count_links, render
from components.comments.stamps import stamp_age
from components.models import (
    Comment,
    CommentEventKind,
    CommentStatus,
    Post,
    User,
    utcnow,
)

MAX_NAME = 100
MAX_WEBSITE = 300
MAX_BODY = 5000
DUPLICATE_WINDOW = timedelta(days=1)


class Moderation(enum.StrEnum):
    FIRST = "first"  # hold a commenter's comments until one of theirs is approved
    ALL = "all"  # hold every comment
    NONE = "none"  # publish at once


@dataclass(frozen=True)
class Rules:
    moderation: Moderation = Moderation.FIRST
    # A person needs a few seconds to write anything; a script does not wait.
    min_seconds: float = 3.0
    # A form older than this is sent back with a fresh timestamp (and the text kept).
    max_age: timedelta = timedelta(days=2)
    max_links: int = 2
    per_ip: int = 5
    window: timedelta = timedelta(minutes=10)


@dataclass
class Submission:
    """What the comment form sent."""

    name: str = ""
    website: str = ""
    body: str = ""
    parent_id: int | None = None
    # The honeypot: a field people never see, so never fill in.
    trap: str = ""
    # The signed time at which the form was shown.
    stamp: str = ""


class Refused(Exception):
    """The comment was not taken. `errors` maps a field (or "form") to what to do about it."""

    def __init__(
        self, errors: dict[str, str], status: int = 422, retry_after: int | None = None
    ) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors
        self.status = status
        self.retry_after = retry_after


class Closed(Exception):
    """Comments are switched off on this post."""


def commenter_hash(token: str) -> str:
    """What is kept of a commenter's browser token: its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest() if token else ""


# --- checking ---------------------------------------------------------------------

_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def _clean_line(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_CONTROL)
    return " ".join(text.split())


# Characters a real address escapes; written raw, they are an attempt at markup.
_NOT_IN_URLS = re.compile(r"[\s<>\"'`\\]")


def _website(raw: str) -> str | None:
    """The commenter's address as a safe http(s) URL, "" for none, None when unusable."""
    text = raw.strip()
    if not text:
        return ""
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if _NOT_IN_URLS.search(text):
        return None
    if "." not in parts.hostname and parts.hostname != "localhost":
        return None
    return text


def _check_form(form: Submission, rules: Rules, secret: str, now: float) -> float:
    """The honeypot and the stamp, which tell a script from a person: the form's age."""
    if form.trap.strip():
        raise Refused(
            {
                "form": "This comment looks automated, because a hidden field was filled in "
                "(some browser extensions do that). Please clear the field labelled "
                "“Leave this field empty” and send it again."
            }
        )
    age = stamp_age(secret, form.stamp, now)
    if age is None:
        raise Refused(
            {
                "form": "This form is missing part of what makes it ours. Please send it "
                "again from the post's page; your text is still here."
            }
        )
    if age > rules.max_age.total_seconds():
        raise Refused(
            {
                "form": "This page was open a long time, so the form expired. It has been "
                "renewed: please send your comment again."
            }
        )
    return age


def _validate(form: Submission, user: User | None) -> tuple[str, str, str]:
    errors: dict[str, str] = {}
    name = user.name if user else _clean_line(form.name)
    if not name:
        errors["name"] = "Please give a name: it is shown with your comment."
    elif len(name) > MAX_NAME:
        errors["name"] = f"A name may be at most {MAX_NAME} characters."
    website = "" if user else _website(form.website)
    if website is None:
        errors["website"] = "A website must be an address like https://example.com."
    elif len(website) > MAX_WEBSITE:
        errors["website"] = f"A website address may be at most {MAX_WEBSITE} characters."
    body = unicodedata.normalize("NFC", form.body.replace("\r\n", "\n")).translate(_CONTROL)
    body = body.strip()
    if not body:
        errors["body"] = "Please write a comment."
    elif len(body) > MAX_BODY:
        errors["body"] = (
            f"A comment may be at most {MAX_BODY:,} characters; this one has {len(body):,}."
        )
    if errors:
        raise Refused(errors)
    return name, website or "", body


async def _retry_after(session: AsyncSession, ip: str, rules: Rules) -> int:
    """Seconds until this address may comment again; 0 when it may now."""
    now = utcnow()
    recent = (
        select(Comment.created_at)
        .where(Comment.ip == ip, Comment.created_at > now - rules.window)
        .order_by(Comment.created_at.desc())
        .limit(rules.per_ip)
        .subquery()
    )
    number, oldest = (
        await session.execute(select(func.count(), func.min(recent.c.created_at)))
    ).one()
    if number < rules.per_ip or oldest is None:
        return 0
    return max(1, math.ceil((oldest + rules.window - now).total_seconds()))


async def _is_duplicate(
    session: AsyncSession, post: Post, body: str, ip: str, commenter: str, user: User | None
) -> bool:
    if user is not None:
        same_sender = Comment.author_id == user.id
    elif commenter:
        same_sender = (Comment.ip == ip) | (Comment.commenter == commenter)
    else:
        same_sender = Comment.ip == ip
    query = select(
        exists().where(
            Comment.post_id == post.id,
            Comment.body == body,
            Comment.created_at > utcnow() - DUPLICATE_WINDOW,
            same_sender,
        )
    )
    return bool(await session.scalar(query))


async def _is_known(session: AsyncSession, commenter: str) -> bool:
    if not commenter:
        return False
    # `<> ''` says nothing new here; it lets the planner take the partial index that leaves
    # out comments with no commenter (components/models.Comment), even in a plan made
    # without the values. So it is written in the SQL, not sent as one of them.
    query = select(
        exists().where(
            Comment.commenter == commenter,
            Comment.commenter != literal_column("''"),
            Comment.status == CommentStatus.APPROVED,
        )
    )
    return bool(await session.scalar(query))


async def _parent(session: AsyncSession, post: Post, parent_id: int | None) -> Comment | None:
    """The comment being answered: a visible, top-level comment of this post."""
    if parent_id is None:
        return None
    parent = await session.scalar(
        select(Comment).where(
            Comment.id == parent_id,
            Comment.post_id == post.id,
            Comment.status == CommentStatus.APPROVED,
        )
    )
    if parent is None:
        raise Refused({"form": "The comment you are replying to is no longer there."})
    # Replies are one level deep: an answer to a reply joins its thread.
    if parent.parent_id is not None:
        parent = await session.get(Comment, parent.parent_id) or parent
    return parent


async def _status_for(
    session: AsyncSession, rules: Rules, user: User | None, commenter: str
) -> CommentStatus:
    """Published at once, or held for moderation, as the site's rule says."""
    if user is not None or rules.moderation is Moderation.NONE:
        return CommentStatus.APPROVED
    if rules.moderation is Moderation.FIRST and await _is_known(session, commenter):
        return CommentStatus.APPROVED
    return CommentStatus.PENDING


async def submit(
    session: AsyncSession,
    post: Post,
    form: Submission,
    *,
    rules: Rules,
    secret: str,
    ip: str,
    commenter: str = "",
    user: User | None = None,
    now: float | None = None,
) -> Comment:
    """Take a comment, or raise Refused (or Closed) saying why not.

    `commenter` is the hash of the browser's commenter token; `user` is a signed-in
    writer, who comments as themselves, is never held and is not rate limited.
    """
    if not post.comments_enabled:
        raise Closed
    moment = now if now is not None else time.time()
    age = None
    if user is None:
        age = _check_form(form, rules, secret, moment)
    name, website, body = _validate(form, user)
    if age is not None and age < rules.min_seconds:
        raise Refused(
            {
                "form": "That was quicker than anyone can write. Please wait a few seconds "
                "and send it again."
            }
        )
    if count_links(body) > rules.max_links:
        raise Refused(
            {"body": f"A comment may hold at most {rules.max_links} links. Please remove some."}
        )
    if user is None and (wait := await _retry_after(session, ip, rules)):
        minutes = max(1, round(wait / 60))
        raise Refused(
            {
                "form": "You have sent several comments in a short time. Please wait about "
                f"{minutes} minute(s) and send this one again."
            },
            status=429,
            retry_after=wait,
        )
    if await _is_duplicate(session, post, body, ip, commenter, user):
        raise Refused({"form": "You have already sent this comment; it is not sent twice."})
    parent = await _parent(session, post, form.parent_id)
    status = await _status_for(session, rules, user, commenter)
    comment = Comment(
        post_id=post.id,
        parent_id=parent.id if parent else None,
        author_id=user.id if user else None,
        author_name=name,
        author_url=website,
        body=body,
        body_html=render(body),
        status=status,
        ip=ip[:45],
        commenter=commenter,
    )
    session.add(comment)
    await session.flush()
    await events.record(
        session,
        comment,
        CommentEventKind.PUBLISHED
        if status is CommentStatus.APPROVED
        else CommentEventKind.RECEIVED,
    )
    await session.flush()
    return comment
