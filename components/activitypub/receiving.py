"""An inbox request believed or refused: the sender's server within its rate, the body an
activity, the HTTP Signature checked against the key of the actor it names (fetched and
cached, read again once if it no longer checks: keys change), the activity's actor the
key's owner, and the request not seen before. Then `take` does what it asks, in one
transaction with the note that it was seen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from components import fetch
from components.activitypub import inbox, remote, signatures
from components.activitypub.inbox import Here, Rejected
from components.models import RemoteActor
from components.outbox import queue


@dataclass(frozen=True)
class Believed:
    activity: dict[str, Any]
    remote_id: int
    signature: str
    host: str
    # Set when nothing is left to do, with the words for the sender.
    done: str = ""


async def receive(
    sessions: async_sessionmaker[AsyncSession],
    *,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    host: str,
    allow_private: bool = False,
    sign: fetch.Signer | None = None,
) -> Believed:
    """The activity and who sent it; Rejected (400, 401 or 429) otherwise. The sender's
    actor is fetched with GETs signed by `sign`, where given."""
    lowered = {name.lower(): value for name, value in headers.items()}
    header = lowered.get("signature", "")
    if not header:
        raise Rejected("The request is not signed (HTTP Signatures).", 401)
    try:
        parsed = signatures.parse(header)
    except signatures.BadSignature as bad:
        raise Rejected(str(bad), 401) from None
    owner = remote.owner_of(parsed.key_id)
    sender_host = remote.host_of(owner)
    async with sessions() as session:
        await inbox.check_rate(session, sender_host)
    try:
        activity = json.loads(body)
    except ValueError:
        raise Rejected("The body is not JSON.") from None
    if not isinstance(activity, dict):
        raise Rejected("The body is not an activity (a JSON object).")
    async with fetch.client(allow_private=allow_private) as http:
        for fresh in (False, True):

            async def find(session: AsyncSession, fresh: bool = fresh) -> RemoteActor:
                return await remote.find(session, http, owner, fresh=fresh, sign=sign)

            try:
                sender = await queue.in_transaction(sessions, find)
            except remote.Unreadable as unreadable:
                if unreadable.gone and _deletes_itself(activity, owner):
                    await queue.in_transaction(sessions, lambda s: _forget(s, owner))
                    return Believed(activity, 0, header, sender_host, done="The account is gone.")
                raise Rejected(f"The signing key could not be read: {unreadable}", 401) from None
            try:
                signatures.verify(method, target, lowered, body, sender.public_pem, host=host)
                break
            except signatures.BadSignature as bad:
                if fresh or "does not match" not in str(bad):
                    raise Rejected(str(bad), 401) from None
    if inbox.object_id(activity.get("actor")) != sender.uri:
        raise Rejected("The activity's actor is not the one who signed it.", 401)
    return Believed(activity, sender.id, header, sender_host)


async def take(session: AsyncSession, believed: Believed, here: Here) -> str:
    """Do what the activity asks, once: a signed request seen before is refused (401)."""
    await inbox.remember(session, believed.signature, believed.host)
    sender = await session.get(RemoteActor, believed.remote_id)
    if sender is None:
        return "its sender is gone"
    return await inbox.handle(session, believed.activity, sender, here)


def _deletes_itself(activity: dict[str, Any], owner: str) -> bool:
    return (
        activity.get("type") == "Delete"
        and inbox.object_id(activity.get("actor")) == owner
        and inbox.object_id(activity.get("object")) == owner
    )


async def _forget(session: AsyncSession, uri: str) -> None:
    """An account its own server says is gone (404 or 410): its follows end."""
    await session.execute(delete(RemoteActor).where(RemoteActor.uri == uri))
