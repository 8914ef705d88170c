"""Accounts on other servers that this site's actors follow: found by their address
(`@name@host` through WebFinger, or the actor's own URL), asked with a Follow through the
outbox, and marked as their server answers (Accept or Reject). Unfollowing sends an Undo.

What they post arrives in the inbox like anything else; a reply to one of our posts
goes to the moderation queue whether we follow its author or not.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from components import fetch
from components.activitypub import delivery, documents
from components.activitypub.remote import ACCEPT, Unreadable, host_of
from components.listing import PAGE, count_by, page_of
from components.models import Following, FollowingState, LocalActor, RemoteActor, utcnow

MAX_ADDRESS = 300
JRD_ACCEPT = f"{documents.JRD_TYPE}, application/json"
# name@host, with an optional leading @ and acct: (Mastodon shows @name@host).
_ACCOUNT = re.compile(r"(?:acct:)?@?(?P<name>[^@\s/:?#]+)@(?P<host>[^@\s/?#]+)")


class Unknown(ValueError):
    """The address names no account that can be followed: says why."""


@dataclass(frozen=True)
class Address:
    """An account's address as typed: its actor's URL, or a name and host for WebFinger."""

    url: str = ""
    name: str = ""
    host: str = ""

    def __str__(self) -> str:
        return self.url or f"@{self.name}@{self.host}"


def read_address(text: str) -> Address:
    """What the admin typed, as an address; Unknown (with what is wrong) otherwise."""
    text = text.strip()
    if not text:
        raise Unknown("Give the account's address, like @name@example.social.")
    if len(text) > MAX_ADDRESS:
        raise Unknown(f"An account's address is at most {MAX_ADDRESS} characters.")
    if text.startswith(("https://", "http://")):
        parts = urlsplit(text)
        if not parts.hostname:
            raise Unknown(f"“{text}” has no host name.")
        return Address(url=text)
    found = _ACCOUNT.fullmatch(text)
    if found is None or ("." not in found["host"] and ":" not in found["host"]):
        raise Unknown(f"“{text}” is not an account's address: write @name@example.social.")
    return Address(name=found["name"], host=found["host"].lower())


async def resolve(
    http: httpx.AsyncClient,
    address: Address,
    *,
    allow_private: bool,
    sign: fetch.Signer | None = None,
) -> str:
    """The actor's address (its id) for `address`; Unknown when there is none. A
    profile's address is fetched signed by `sign` (WebFinger never is)."""
    if address.url:
        document = await _json(http, address.url, ACCEPT, sign)
        found = document.get("id")
        if not isinstance(found, str) or host_of(found) != host_of(address.url):
            raise Unknown(f"{address.url} is not a fediverse account's address.")
        return found
    # Loopback servers in the tests speak plain HTTP; every real one speaks HTTPS.
    scheme = "http" if allow_private else "https"
    resource = quote(f"acct:{address.name}@{address.host}", safe=":@")
    jrd = await _json(
        http, f"{scheme}://{address.host}/.well-known/webfinger?resource={resource}", JRD_ACCEPT
    )
    links = jrd.get("links")
    for link in links if isinstance(links, list) else []:
        if (
            isinstance(link, dict)
            and link.get("rel") == "self"
            and str(link.get("type", "")).startswith(documents.ACTIVITY_TYPES)
            and isinstance(link.get("href"), str)
            and urlsplit(link["href"]).scheme in ("http", "https")
        ):
            return str(link["href"])
    raise Unknown(f"{address} has no fediverse account (its server names no actor).")


async def _json(
    http: httpx.AsyncClient, url: str, accept: str, sign: fetch.Signer | None = None
) -> dict[str, Any]:
    try:
        page = await fetch.get(http, url, accept=accept, max_bytes=256_000, sign=sign)
    except fetch.Refused as refused:
        raise Unknown(f"{url} could not be read: {refused}.") from None
    if page.status in (404, 410):
        raise Unknown(f"There is no such account ({url} answered {page.status}).")
    if page.status != 200:
        raise Unknown(f"{url} answered {page.status}; try again later.")
    try:
        document = json.loads(page.body)
    except ValueError:
        raise Unknown(f"{url} did not answer JSON.") from None
    if not isinstance(document, dict):
        raise Unknown(f"{url} did not answer a JSON object.")
    return document


def unreadable(error: Unreadable) -> Unknown:
    return Unknown(f"The account could not be read: {error}.")


async def follow(
    session: AsyncSession, actor: LocalActor, remote: RemoteActor, *, actor_uri: str, origin: str
) -> Following:
    """`actor` follows `remote`, or asks again: a Follow goes to their inbox. Nothing is
    sent for a follow they already accepted."""
    found = await session.scalar(
        select(Following).where(Following.actor_id == actor.id, Following.remote_id == remote.id)
    )
    if found is not None and found.state is FollowingState.ACCEPTED:
        return found
    follow_id = f"{actor_uri}#follows-{secrets.token_hex(8)}"
    if found is None:
        found = Following(actor_id=actor.id, remote_id=remote.id, follow_id=follow_id)
        session.add(found)
    found.follow_id = follow_id
    found.state = FollowingState.ASKED
    found.answered_at = None
    await session.flush()
    await delivery.queue_follow(session, found, remote, origin=origin)
    return found


async def unfollow(session: AsyncSession, following_id: int, *, origin: str) -> Following | None:
    """Stop following (their server is sent an Undo); None if it was already gone."""
    found = await _one(session, following_id)
    if found is None:
        return None
    if found.state is not FollowingState.REFUSED:
        await delivery.queue_follow(session, found, found.remote, origin=origin, undo=True)
    await session.delete(found)
    await session.flush()
    return found


async def answered(
    session: AsyncSession, sender: RemoteActor, follow: Any, *, accepted: bool, ours: int | None
) -> bool:
    """Their answer to one of our follows: `follow` is our Follow (its id, or the activity
    as we sent it), `ours` the actor it names if it is one of ours. False when it answers
    nothing we asked."""
    follow_id = follow.get("id") if isinstance(follow, dict) else follow
    query = select(Following).where(Following.remote_id == sender.id)
    found = None
    if isinstance(follow_id, str) and follow_id:
        found = await session.scalar(query.where(Following.follow_id == follow_id))
    if found is None and ours is not None:
        # Some servers answer with a Follow of their own making: who and whom is enough.
        found = await session.scalar(query.where(Following.actor_id == ours))
    if found is None:
        return False
    found.state = FollowingState.ACCEPTED if accepted else FollowingState.REFUSED
    found.answered_at = utcnow()
    await session.flush()
    return True


@dataclass(frozen=True)
class Listing:
    counts: dict[FollowingState, int]
    following: list[Following]
    page: int
    pages: int


async def listing(session: AsyncSession, *, page: int = 1) -> Listing:
    """A page of the accounts followed, the newest first."""
    counts = await count_by(session, Following.state, FollowingState)
    page, pages = page_of(page, sum(counts.values()))
    found = await session.scalars(
        select(Following)
        .options(
            joinedload(Following.remote),
            joinedload(Following.actor).load_only(LocalActor.username),
        )
        .order_by(Following.created_at.desc(), Following.id.desc())
        .offset((page - 1) * PAGE)
        .limit(PAGE)
    )
    return Listing(counts, list(found.unique()), page, pages)


async def count(session: AsyncSession, actor_id: int) -> int:
    """How many accounts `actor_id` follows (accepted ones)."""
    total = await session.scalar(
        select(func.count(Following.id)).where(
            Following.actor_id == actor_id, Following.state == FollowingState.ACCEPTED
        )
    )
    return total or 0


async def _one(session: AsyncSession, following_id: int) -> Following | None:
    return await session.scalar(
        select(Following).where(Following.id == following_id).options(joinedload(Following.remote))
    )
