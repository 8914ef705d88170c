"""Accounts: users, their passwords, and the signed-in sessions that belong to them.

Hashing with argon2 costs tens of milliseconds of CPU on purpose, so it runs in a
thread and never holds up the event loop. A session is a random token in the
browser's (signed) cookie; the database keeps only its SHA-256, so a leaked
database signs nobody in, and deleting a row signs that browser out.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any, cast
from zoneinfo import available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from components import authors
from components.models import AuthSession, Role, User, utcnow

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1000
REMEMBERED_FOR = timedelta(days=30)
# A session that is not remembered lives as long as the browser, but never past this.
BROWSER_SESSION_FOR = timedelta(hours=12)

_hasher = PasswordHasher()
_dummy: dict[PasswordHasher, str] = {}


def _dummy_hash() -> str:
    """Verified against when the account does not exist, so that a wrong email costs the
    same time as a wrong password (same hasher, same parameters) and gives nothing away."""
    if _hasher not in _dummy:
        _dummy[_hasher] = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy[_hasher]


class AccountError(ValueError):
    """An account cannot be made or changed as asked; the message says why."""


def normalise_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().lower()


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"The password must be at most {MAX_PASSWORD_LENGTH} characters.")


def check_time_zone(name: str) -> str:
    # Looked up in the list, not by ZoneInfo(name): that reads a file named after the
    # input, and a long enough name is an OSError rather than "not found".
    if name not in _known_zones():
        shown = name if len(name) <= 60 else f"{name[:60]}…"
        raise AccountError(f"“{shown}” is not a time zone Quire knows.")
    return name


def time_zones() -> list[str]:
    return sorted(_known_zones())


@cache
def _known_zones() -> frozenset[str]:
    """The system's time zone names (read once: listing them walks the zoneinfo folder)."""
    return frozenset(available_timezones() | {"UTC"})


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str,
    role: Role = Role.AUTHOR,
    time_zone: str = "UTC",
) -> User:
    email = normalise_email(email)
    if "@" not in email.strip("@") or len(email) > 254 or any(c.isspace() for c in email):
        raise AccountError(f"“{email}” is not an email address.")
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise AccountError("A name of 1 to 100 characters is needed.")
    check_password_rules(password)
    if await by_email(session, email) is not None:
        raise AccountError(f"There is already an account for {email}.")
    user = User(
        email=email,
        name=name,
        slug=await authors.free_slug(session, name, email),
        password_hash=await hash_password(password),
        role=role,
        time_zone=check_time_zone(time_zone),
    )
    session.add(user)
    await session.flush()
    return user


async def by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalise_email(email)))


async def by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The active user with this email and password, or None; the same work either way."""
    user = await by_email(session, email) if len(password) <= MAX_PASSWORD_LENGTH else None
    valid = await _verify(
        user.password_hash if user else _dummy_hash(), password[:MAX_PASSWORD_LENGTH]
    )
    # A disabled account is refused like a wrong password: nothing says it exists.
    if user is None or not valid or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    return user


async def check_password(user: User, password: str) -> bool:
    return await _verify(user.password_hash, password)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(
    session: AsyncSession, user: User, *, remember: bool, user_agent: str = ""
) -> str:
    """Sign `user` in: a new random token each time, so a token known before is worthless."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # Sessions that ran out are forgotten here, where the user's index makes it cheap.
    await session.execute(
        delete(AuthSession).where(AuthSession.user_id == user.id, AuthSession.expires_at <= now)
    )
    session.add(
        AuthSession(
            token_hash=_digest(token),
            user_id=user.id,
            remember=remember,
            created_at=now,
            expires_at=now + (REMEMBERED_FOR if remember else BROWSER_SESSION_FOR),
            user_agent=user_agent[:200],
        )
    )
    await session.flush()
    return token


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_id: int
    remember: bool


async def find_session(session: AsyncSession, token: str) -> SignedIn | None:
    """Who a session token belongs to, while it has not expired or been ended."""
    row = await session.scalar(
        select(AuthSession)
        .join(AuthSession.user)
        .where(
            AuthSession.token_hash == _digest(token),
            AuthSession.expires_at > utcnow(),
            # Disabling ends the sessions too; this holds even for one made in between.
            User.disabled_at.is_(None),
        )
        .options(contains_eager(AuthSession.user))
    )
    if row is None:
        return None
    return SignedIn(user=row.user, session_id=row.id, remember=row.remember)


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(AuthSession).where(AuthSession.token_hash == _digest(token)))


async def end_other_sessions(session: AsyncSession, user: User, keep_id: int | None) -> int:
    """Sign `user` out everywhere but the session `keep_id`; returns how many ended."""
    query = delete(AuthSession).where(AuthSession.user_id == user.id)
    if keep_id is not None:
        query = query.where(AuthSession.id != keep_id)
    # Session.execute is typed to return a Result, as a session cannot promise a cursor for
    # every statement; a DELETE without RETURNING always gives a CursorResult, with its rowcount.
    result = cast(CursorResult[Any], await session.execute(query))
    return result.rowcount or 0


async def change_password(
    session: AsyncSession, user: User, *, current: str, new: str, keep_session_id: int | None
) -> None:
    """Change the password and sign every other browser out."""
    if not await check_password(user, current):
        raise AccountError("The current password is not right.")
    check_password_rules(new)
    user.password_hash = await hash_password(new)
    await end_other_sessions(session, user, keep_session_id)


async def sessions_of(session: AsyncSession, user: User) -> int:
    return (
        await session.scalar(
            select(func.count(AuthSession.id)).where(
                AuthSession.user_id == user.id, AuthSession.expires_at > utcnow()
            )
        )
        or 0
    )
