"""Comments: the small Markdown readers may write, moderation, and the defences against spam.

A comment is checked in this order, so that a person always learns the most useful
thing first: the honeypot and the form's signed timestamp (both invisible to people),
the fields themselves, how fast the form was sent, how many links it carries, how
many comments its address sent lately, and whether it was sent before. Every refusal
is a `Refused` whose messages are written for the person in front of the form.

Each change a reader could notice is also written to the `comment_events` log, in
the same transaction, for the live pages (web/streams) to follow.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import math
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

import nh3
from itsdangerous import BadSignature, URLSafeSerializer
from markdown_it import MarkdownIt
from sqlalchemy import ColumnElement, delete, exists, func, literal_column, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only, selectinload

from components import changes, live
from components.models import (
    Comment,
    CommentEvent,
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


# --- rendering ------------------------------------------------------------------

# Emphasis, code, links, quotes and lists; no images, no headings, no raw HTML.
_RULES = ["emphasis", "backticks", "escape", "entity", "newline", "link", "autolink"]
_BLOCKS = ["fence", "code", "blockquote", "list"]
_TAGS = {"p", "br", "em", "strong", "code", "pre", "a", "blockquote", "ul", "ol", "li"}
_LINK_REL = "nofollow ugc noopener"


def _parser() -> MarkdownIt:
    md = MarkdownIt("zero", {"breaks": True, "html": False})
    md.enable(_RULES + _BLOCKS)
    return md


_MD = _parser()


def render(body: str) -> str:
    """A comment's Markdown as safe HTML: every link marked as the reader's, not ours."""
    return nh3.clean(
        _MD.render(body),
        tags=_TAGS,
        attributes={"a": {"href"}, "ol": {"start"}},
        url_schemes={"http", "https", "mailto"},
        link_rel=_LINK_REL,
    ).strip()


# An address, or a Markdown link to one written without a scheme.
_LINK = re.compile(r"https?://|www\.|mailto:|\]\((?!\s*(?:https?://|www\.|mailto:))", re.I)


def count_links(text: str) -> int:
    """Addresses in what a commenter wrote, linked or not: spam is made of them."""
    return len(_LINK.findall(text))


# --- the form's signed timestamp ------------------------------------------------


# A stamp is "<microseconds>.<mac>", so that no two answers carry the same one. Every post
# page sends a fresh one, so it is made with one HMAC over the time and no more:
# itsdangerous' serializer (JSON, key derivation and base64 on every call) took 27 us of
# the 1 ms or so that a kept post page costs to send.
_STAMP_SALT = b"quire.comment-form.v2"
_STAMP_MAC_BYTES = 16
_STAMP = re.compile(r"(\d{1,19})\.([0-9a-f]{32})")


@functools.cache
def _stamp_key(secret: str) -> bytes:
    return hashlib.sha256(_STAMP_SALT + secret.encode()).digest()


def _stamp_mac(secret: str, micros: str) -> str:
    return hmac.digest(_stamp_key(secret), micros.encode(), "sha256")[:_STAMP_MAC_BYTES].hex()


def issue_stamp(secret: str, now: float | None = None) -> str:
    """The signed moment a comment form was shown, for its hidden field."""
    micros = str(round((now if now is not None else time.time()) * 1_000_000))
    return f"{micros}.{_stamp_mac(secret, micros)}"


def stamp_age(secret: str, stamp: str, now: float | None = None) -> float | None:
    """Seconds since the form with this stamp was shown; None when it is not ours."""
    now = now if now is not None else time.time()
    found = _STAMP.fullmatch(stamp)
    if found is None:
        return _legacy_stamp_age(secret, stamp, now)
    micros, mac = found.groups()
    if not hmac.compare_digest(mac, _stamp_mac(secret, micros)):
        return None
    return now - int(micros) / 1_000_000


def _legacy_stamp_age(secret: str, stamp: str, now: float) -> float | None:
    """The age of a stamp in the format before v2 (itsdangerous), so that a form shown
    before a deploy still sends; such stamps expire with Rules.max_age, two days."""
    try:
        data = URLSafeSerializer(secret, salt="quire.comment-form").loads(stamp)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), int | float):
        return None
    return now - data["t"]


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
    await _log(
        session,
        comment,
        CommentEventKind.PUBLISHED
        if status is CommentStatus.APPROVED
        else CommentEventKind.RECEIVED,
    )
    await session.flush()
    return comment


async def _log(session: AsyncSession, comment: Comment, kind: CommentEventKind) -> None:
    # Written after the comment's own flush, which took the content clock's lock, so
    # event ids are handed out in commit order (components/changes).
    session.add(CommentEvent(post_id=comment.post_id, comment_id=comment.id, kind=kind))
    await live.notify(session)


# --- reading ------------------------------------------------------------------------


@dataclass
class Thread:
    comment: Comment
    replies: list[Comment] = field(default_factory=list)


async def threads(session: AsyncSession, post_id: int) -> list[Thread]:
    """A post's visible comments, oldest first, each with its visible replies: one statement.

    A reply whose comment is no longer shown stands on its own, so what is counted is shown.
    """
    shown = (
        await session.scalars(
            select(Comment)
            .where(Comment.post_id == post_id, Comment.status == CommentStatus.APPROVED)
            .order_by(Comment.created_at, Comment.id)
        )
    ).all()
    by_id: dict[int, Thread] = {}
    result: list[Thread] = []
    for comment in shown:
        if comment.parent_id is not None and comment.parent_id in by_id:
            by_id[comment.parent_id].replies.append(comment)
            continue
        thread = Thread(comment)
        by_id[comment.id] = thread
        result.append(thread)
    return result


async def visible(session: AsyncSession, comment_id: int) -> Comment | None:
    return await session.scalar(
        select(Comment).where(Comment.id == comment_id, Comment.status == CommentStatus.APPROVED)
    )


async def for_feed(session: AsyncSession, post_id: int, *, limit: int) -> Sequence[Comment]:
    """A post's newest visible comments, for its Atom feed."""
    query = (
        select(Comment)
        .where(Comment.post_id == post_id, Comment.status == CommentStatus.APPROVED)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


# --- moderation ---------------------------------------------------------------------


class Verdict(enum.StrEnum):
    APPROVE = "approve"
    SPAM = "spam"


def _moderated_by(user: User) -> ColumnElement[bool]:
    """Comments this user moderates: all for an admin, those on their own posts otherwise."""
    if user.is_admin:
        return true()
    return Comment.post_id.in_(select(Post.id).where(Post.author_id == user.id))


_QUEUE_POST = load_only(Post.title, Post.slug, Post.published_at, Post.status, Post.author_id)


async def queue(
    session: AsyncSession, *, user: User, status: CommentStatus | None, limit: int = 100
) -> Sequence[Comment]:
    """The comments a user moderates, newest first, with their posts."""
    query = (
        select(Comment)
        .where(_moderated_by(user))
        .options(selectinload(Comment.post).options(_QUEUE_POST))
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(Comment.status == status)
    return (await session.scalars(query)).all()


async def counts(session: AsyncSession, user: User) -> dict[CommentStatus, int]:
    """How many comments of each status this user moderates."""
    query = select(Comment.status, func.count()).where(_moderated_by(user)).group_by(Comment.status)
    found = {status: number for status, number in (await session.execute(query)).all()}
    return {status: found.get(status, 0) for status in CommentStatus}


async def pending_count(session: AsyncSession, user: User) -> int:
    query = select(func.count()).where(Comment.status == CommentStatus.PENDING, _moderated_by(user))
    return await session.scalar(query) or 0


async def for_moderation(session: AsyncSession, comment_id: int) -> Comment | None:
    """A comment with its post (and the post's author), to decide who may moderate it."""
    return await session.scalar(
        select(Comment)
        .where(Comment.id == comment_id)
        .options(selectinload(Comment.post).options(_QUEUE_POST))
    )


def can_moderate(user: User, comment: Comment) -> bool:
    return user.is_admin or comment.post.author_id == user.id


async def judge(session: AsyncSession, comment: Comment, verdict: Verdict) -> None:
    """Approve a comment or mark it as spam; spam is kept until purged."""
    was_shown = comment.status is CommentStatus.APPROVED
    comment.status = CommentStatus.APPROVED if verdict is Verdict.APPROVE else CommentStatus.SPAM
    await session.flush()
    if verdict is Verdict.APPROVE and not was_shown:
        await _log(session, comment, CommentEventKind.PUBLISHED)
    elif verdict is Verdict.SPAM and was_shown:
        await _log(session, comment, CommentEventKind.WITHDRAWN)
    await session.flush()


async def remove(session: AsyncSession, comment: Comment) -> None:
    """Delete a comment and its replies for good."""
    await _delete(session, [comment])


async def _delete(session: AsyncSession, doomed: Sequence[Comment]) -> None:
    """Delete comments with their replies, telling live pages about those readers saw."""
    ids = [c.id for c in doomed]
    replies = (await session.scalars(select(Comment).where(Comment.parent_id.in_(ids)))).all()
    gone = {c.id: c for c in [*doomed, *replies]}
    # One statement: the ORM cannot delete rows of a self-referencing table one by one
    # without loading every relationship, which lazy="raise" forbids.
    await changes.touch(session)
    await session.execute(
        delete(Comment).where(Comment.id.in_(gone)).execution_options(synchronize_session=False)
    )
    for comment in gone.values():
        if comment.status is CommentStatus.APPROVED:
            await _log(session, comment, CommentEventKind.WITHDRAWN)
        session.expunge(comment)
    await session.flush()


async def purge_spam(session: AsyncSession, older_than: timedelta) -> int:
    """Delete spam older than `older_than` (and the replies it drew); the number of spam."""
    doomed = (
        await session.scalars(
            select(Comment).where(
                Comment.status == CommentStatus.SPAM, Comment.created_at < utcnow() - older_than
            )
        )
    ).all()
    if doomed:
        await _delete(session, doomed)
    return len(doomed)
