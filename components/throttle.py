"""Sign-in throttling: too many failures from one address, or for one account, wait.

Failures are rows in the database rather than counters in memory, so that every
worker and every app instance sees the same count. An attempt is written (and
committed) before its password is checked, and counted with itself included: had
the count come first, many attempts in flight at once would all pass it before
any of them was recorded. Rows are therefore failures plus attempts in progress.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.accounts import normalise_email
from components.models import LoginFailure, utcnow


@dataclass(frozen=True)
class Limits:
    window: timedelta = timedelta(minutes=15)
    per_account: int = 5
    per_ip: int = 20


async def record_attempt(session: AsyncSession, *, ip: str, email: str, limits: Limits) -> int:
    """Count an attempt as a failure until it succeeds, and forget those past the window.

    The caller commits before checking anything, so that parallel attempts see it.
    """
    now = utcnow()
    await session.execute(delete(LoginFailure).where(LoginFailure.at <= now - limits.window))
    attempt = LoginFailure(ip=ip, email=normalise_email(email)[:254], at=now)
    session.add(attempt)
    await session.flush()
    return attempt.id


async def retry_after(session: AsyncSession, *, ip: str, email: str, limits: Limits) -> int:
    """Seconds until this address may try this account again; 0 when the attempt just
    recorded (and counted here) may be checked."""
    now = utcnow()
    since = now - limits.window
    waits = []
    for column, value, allowed in (
        (LoginFailure.ip, ip, limits.per_ip),
        (LoginFailure.email, normalise_email(email), limits.per_account),
    ):
        recent = (
            select(LoginFailure.at)
            .where(column == value, LoginFailure.at > since)
            .order_by(LoginFailure.at.desc())
            .limit(allowed + 1)
            .subquery()
        )
        number, oldest = (await session.execute(select(func.count(), func.min(recent.c.at)))).one()
        if number > allowed and oldest is not None:
            # The oldest of the `allowed` failures before this attempt has to leave the window.
            waits.append((oldest + limits.window - now).total_seconds())
    return max(1, math.ceil(max(waits))) if waits else 0


async def forget_attempt(session: AsyncSession, attempt: int) -> None:
    """An attempt refused unchecked, or one that succeeded, is not a failure."""
    await session.execute(delete(LoginFailure).where(LoginFailure.id == attempt))


async def clear_account(session: AsyncSession, email: str) -> None:
    """A successful sign-in wipes the account's slate (not the address's)."""
    await session.execute(delete(LoginFailure).where(LoginFailure.email == normalise_email(email)))
