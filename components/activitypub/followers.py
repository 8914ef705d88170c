"""The admins' side of fediverse followers: the list (who follows which actor, waiting
or accepted), approving one that waits, refusing or removing one (a Reject tells their
server, which then ends the follow on its side too)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from components.activitypub import delivery
from components.listing import PAGE, count_by, page_of
from components.models import Follower, FollowerState, LocalActor, utcnow


@dataclass(frozen=True)
class Listing:
    counts: dict[FollowerState, int]
    followers: list[Follower]
    page: int
    pages: int


async def listing(
    session: AsyncSession, *, page: int = 1, state: FollowerState | None = None
) -> Listing:
    """A page of followers, those waiting first, then the newest."""
    counts = await count_by(session, Follower.state, FollowerState)
    total = counts[state] if state is not None else sum(counts.values())
    page, pages = page_of(page, total)
    query = (
        select(Follower)
        .options(
            joinedload(Follower.remote), joinedload(Follower.actor).load_only(LocalActor.username)
        )
        .order_by(
            (Follower.state == FollowerState.PENDING).desc(),
            Follower.created_at.desc(),
            Follower.id.desc(),
        )
    )
    if state is not None:
        query = query.where(Follower.state == state)
    found = await session.scalars(query.offset((page - 1) * PAGE).limit(PAGE))
    return Listing(counts, list(found.unique()), page, pages)


async def _one(session: AsyncSession, follower_id: int) -> Follower | None:
    return await session.scalar(
        select(Follower).where(Follower.id == follower_id).options(joinedload(Follower.remote))
    )


async def approve(session: AsyncSession, follower_id: int, *, origin: str) -> Follower | None:
    """Accept a waiting follower (their server is sent the Accept); None if gone."""
    follower = await _one(session, follower_id)
    if follower is None:
        return None
    if follower.state is not FollowerState.ACCEPTED:
        follower.state = FollowerState.ACCEPTED
        follower.accepted_at = utcnow()
        await session.flush()
        await delivery.queue_answer(session, follower, follower.remote, "Accept", origin=origin)
    return follower


async def remove(session: AsyncSession, follower_id: int, *, origin: str) -> Follower | None:
    """Refuse or remove a follower (their server is sent a Reject); None if gone."""
    follower = await _one(session, follower_id)
    if follower is None:
        return None
    await delivery.queue_answer(session, follower, follower.remote, "Reject", origin=origin)
    await session.delete(follower)
    await session.flush()
    return follower
