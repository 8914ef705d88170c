"""Accounts on other servers: their actor documents fetched (public addresses only,
components/fetch.py), read with care, and kept in `ap_remote_actors` for a day. A key
that no longer checks a signature is read again at once (the actor changed keys).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urldefrag, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from components import fetch
from components.activitypub.documents import ACTIVITY_TYPE, LD_TYPE
from components.models import RemoteActor, utcnow

FRESH_FOR = timedelta(days=1)
MAX_BYTES = 256_000
ACCEPT = f"{ACTIVITY_TYPE}, {LD_TYPE}"
ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})


class Unreadable(ValueError):
    """The actor could not be fetched or is not an actor: says why. `gone` when its
    server said it no longer exists (404 or 410)."""

    def __init__(self, message: str, *, gone: bool = False, permanent: bool = False) -> None:
        super().__init__(message)
        self.gone = gone
        self.permanent = permanent


def host_of(uri: str) -> str:
    return urlsplit(uri).netloc.lower()


def owner_of(key_id: str) -> str:
    """The actor a keyId names: Mastodon's are the actor's address with #main-key."""
    return urldefrag(key_id).url


async def find(
    session: AsyncSession,
    http: httpx.AsyncClient,
    uri: str,
    *,
    fresh: bool = False,
    sign: fetch.Signer | None = None,
) -> RemoteActor:
    """The actor at `uri`, from the table while it is fresh, else fetched (signed by
    `sign`) and kept. `fresh`: fetched again unless it was just now. Raises Unreadable."""
    row = await session.scalar(select(RemoteActor).where(RemoteActor.uri == uri))
    now = utcnow()
    if row is not None:
        age = now - row.fetched_at
        if age < (timedelta(minutes=1) if fresh else FRESH_FOR):
            return row
    document = await _fetch(http, uri, sign)
    if not isinstance(document.get("publicKey"), dict) and "owner" in document:
        # The keyId was the key's own document: its owner is the actor.
        uri = owner_of(str(document["owner"]))
        if row is None:
            row = await session.scalar(select(RemoteActor).where(RemoteActor.uri == uri))
        document = await _fetch(http, uri, sign)
    values = read_actor(document, uri)
    if row is None:
        row = RemoteActor(uri=uri, **values)
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:
            # Another request read the same actor first: theirs is kept, ours updates it.
            found = await session.scalar(select(RemoteActor).where(RemoteActor.uri == uri))
            if found is None:
                raise
            row = found
            for name, value in values.items():
                setattr(row, name, value)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    row.fetched_at = now
    await session.flush()
    return row


async def author_of(
    session: AsyncSession, http: httpx.AsyncClient, url: str, *, sign: fetch.Signer | None = None
) -> tuple[RemoteActor, str]:
    """Who wrote the post or note at `url`, and its id (which may differ from the address
    people share); Unreadable when it is no fediverse object, or speaks for another
    server."""
    document = await _fetch(http, url, sign)
    object_id = document.get("id")
    if not isinstance(object_id, str) or host_of(object_id) != host_of(url):
        raise Unreadable(f"{url} is not a fediverse post", permanent=True)
    owner = document.get("attributedTo")
    if isinstance(owner, list) and owner:
        owner = owner[0]
    if isinstance(owner, dict):
        owner = owner.get("id")
    if not isinstance(owner, str) or host_of(owner) != host_of(object_id):
        raise Unreadable(f"{url} names no author on its own server", permanent=True)
    return await find(session, http, owner, sign=sign), object_id


async def _fetch(http: httpx.AsyncClient, uri: str, sign: fetch.Signer | None) -> dict[str, Any]:
    try:
        page = await fetch.get(http, uri, accept=ACCEPT, max_bytes=MAX_BYTES, sign=sign)
    except fetch.Refused as refused:
        raise Unreadable(f"{uri}: {refused}", permanent=refused.permanent) from None
    if page.status in (404, 410):
        raise Unreadable(f"{uri} is gone ({page.status})", gone=True, permanent=True)
    if page.status != 200:
        raise Unreadable(f"{uri} answered {page.status}")
    try:
        document = json.loads(page.body)
    except ValueError:
        raise Unreadable(f"{uri} is not JSON", permanent=True) from None
    if not isinstance(document, dict):
        raise Unreadable(f"{uri} is not a JSON object", permanent=True)
    if host_of(page.url) != host_of(uri):
        raise Unreadable(f"{uri} was redirected to another server", permanent=True)
    return document


def _text(value: Any, limit: int) -> str:
    return " ".join(value.split())[:limit] if isinstance(value, str) else ""


def _web(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("href") or value.get("url")
    if isinstance(value, list) and value:
        return _web(value[0])
    if isinstance(value, str) and urlsplit(value).scheme in ("http", "https"):
        return value[:2000]
    return ""


def read_actor(document: dict[str, Any], uri: str) -> dict[str, Any]:
    """The columns of a remote actor from its document; Unreadable unless it is an actor
    whose id is `uri`, with an inbox and a key on its own server."""
    if document.get("id") != uri:
        raise Unreadable(f"the document at {uri} is not that actor's", permanent=True)
    kinds = document.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if not ACTOR_TYPES & {kind for kind in kinds if isinstance(kind, str)}:
        raise Unreadable(f"{uri} is not an actor", permanent=True)
    inbox = _web(document.get("inbox"))
    if not inbox or host_of(inbox) != host_of(uri):
        raise Unreadable(f"the actor {uri} has no inbox on its server", permanent=True)
    key = document.get("publicKey")
    if isinstance(key, list) and key:
        key = key[0]
    if not isinstance(key, dict) or not isinstance(key.get("publicKeyPem"), str):
        raise Unreadable(f"the actor {uri} has no public key", permanent=True)
    if key.get("owner", uri) != uri:
        raise Unreadable(f"the key of {uri} belongs to someone else", permanent=True)
    endpoints = document.get("endpoints")
    shared = _web(endpoints.get("sharedInbox")) if isinstance(endpoints, dict) else ""
    username = _text(document.get("preferredUsername"), 100)
    icon = _web(document.get("icon"))
    return {
        "key_id": str(key.get("id", ""))[:2000],
        "public_pem": key["publicKeyPem"][:10_000],
        "inbox": inbox,
        "shared_inbox": shared if shared and host_of(shared) == host_of(uri) else "",
        "handle": f"@{username}@{host_of(uri)}"[:300] if username else host_of(uri),
        "name": _text(document.get("name"), 100) or username or host_of(uri),
        "url": _web(document.get("url")) or uri,
        "icon": icon if urlsplit(icon).scheme == "https" else "",
    }
