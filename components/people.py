"""People management: who writes here, in which role, who may sign in, and password resets.

Used by `quire user` and by the admin's Users page alike, so both refuse the same things:
a site is never left without an active admin. Disabling or demoting someone ends every
session they have at once (the sessions are rows, so the next request of theirs finds
none). A reset link is a random token shown once; only its SHA-256 is stored, it works
once, and not after an hour.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from components import accounts, authors
from components.accounts import AccountError
from components.models import AuthSession, PasswordReset, Post, Role, User, utcnow

RESET_FOR = timedelta(hours=1)
# A new account's first link: its owner may not read their mail within the hour.
WELCOME_FOR = timedelta(days=2)
EXPIRED = "This link has expired or has been used. Ask an admin for a new one."


@dataclass(frozen=True)
class Person:
    """A user as the Users page lists them: with how many posts and signed-in browsers."""

    user: User
    posts: int
    sessions: int


def _listing() -> Select[User, int, int]:
    posts = select(func.count(Post.id)).where(Post.author_id == User.id).scalar_subquery()
    sessions = (
        select(func.count(AuthSession.id))
        .where(AuthSession.user_id == User.id, AuthSession.expires_at > utcnow())
        .scalar_subquery()
    )
    return select(User, posts, sessions)


async def everyone(session: AsyncSession) -> list[Person]:
    """Every account, admins first, then by name: one statement, however many there are."""
    rows = await session.execute(_listing().order_by(User.role, func.lower(User.name), User.id))
    return [Person(user, posts, sessions) for user, posts, sessions in rows]


async def person(session: AsyncSession, user: User) -> Person:
    """One account as the list shows it."""
    row = (await session.execute(_listing().where(User.id == user.id))).one()
    return Person(row[0], row[1], row[2])


async def find(session: AsyncSession, email: str) -> User:
    """The account for `email`, or an error that names it."""
    user = await accounts.by_email(session, email)
    if user is None:
        raise AccountError(f"There is no account for {accounts.normalise_email(email)}.")
    return user


async def _active_admins(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count(User.id)).where(User.role == Role.ADMIN, User.disabled_at.is_(None))
    )
    return count or 0


async def _keep_an_admin(session: AsyncSession, user: User, doing: str) -> None:
    if user.is_admin and user.is_active and await _active_admins(session) <= 1:
        raise AccountError(
            f"{user.email} is the only active admin: make someone else an admin before you {doing}."
        )


async def end_sessions(session: AsyncSession, user: User) -> int:
    """Sign `user` out of every browser; returns how many sessions ended."""
    return await accounts.end_other_sessions(session, user, keep_id=None)


async def set_role(session: AsyncSession, user: User, role: Role) -> bool:
    """Give `user` this role; False when they had it already. A demotion signs them out,
    so no page opened as an admin stays usable."""
    if user.role is role:
        return False
    if role is not Role.ADMIN:
        await _keep_an_admin(session, user, "change this account's role")
        await end_sessions(session, user)
    user.role = role
    await session.flush()
    return True


async def disable(session: AsyncSession, user: User) -> bool:
    """Stop `user` signing in and sign them out everywhere; their posts stay. False when
    the account was disabled already."""
    if not user.is_active:
        return False
    await _keep_an_admin(session, user, "disable this account")
    user.disabled_at = utcnow()
    await end_sessions(session, user)
    await session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id))
    await session.flush()
    return True


async def enable(session: AsyncSession, user: User) -> bool:
    """Let `user` sign in again (with the password they had); False when they could."""
    if user.is_active:
        return False
    user.disabled_at = None
    await session.flush()
    return True


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_reset(session: AsyncSession, user: User, valid_for: timedelta = RESET_FOR) -> str:
    """A new one-time token for `user` to choose a password with; earlier ones stop working."""
    if not user.is_active:
        raise AccountError(f"{user.email} is disabled: enable the account first.")
    now = utcnow()
    # Links that ran out anywhere are forgotten here, where it costs one indexed delete.
    await session.execute(
        delete(PasswordReset).where(
            (PasswordReset.user_id == user.id) | (PasswordReset.expires_at <= now)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        PasswordReset(
            token_hash=_digest(token), user_id=user.id, created_at=now, expires_at=now + valid_for
        )
    )
    await session.flush()
    return token


async def reset_for(session: AsyncSession, token: str) -> User | None:
    """Whose password a link may still reset, or None when it has expired or was used."""
    if len(token) > 100:
        return None
    return await session.scalar(
        select(User)
        .join(PasswordReset, PasswordReset.user_id == User.id)
        .where(
            PasswordReset.token_hash == _digest(token),
            PasswordReset.expires_at > utcnow(),
            User.disabled_at.is_(None),
        )
    )


async def finish_reset(session: AsyncSession, token: str, password: str) -> User:
    """Set the new password, use up the link and sign the account out everywhere.

    The password is checked before the link is touched, so a refused one leaves it
    working. The link is deleted with RETURNING: of two requests racing with the same
    link, only one gets a row, so it works exactly once.
    """
    if await reset_for(session, token) is None:
        raise AccountError(EXPIRED)
    accounts.check_password_rules(password)
    user_id = await session.scalar(
        delete(PasswordReset)
        .where(PasswordReset.token_hash == _digest(token), PasswordReset.expires_at > utcnow())
        .returning(PasswordReset.user_id)
    )
    user = await session.get(User, user_id) if user_id is not None else None
    if user is None or not user.is_active:
        raise AccountError(EXPIRED)
    user.password_hash = await accounts.hash_password(password)
    await session.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id))
    await end_sessions(session, user)
    await session.flush()
    return user


async def invite(session: AsyncSession, *, email: str, name: str, role: Role) -> tuple[User, str]:
    """A new account with a password nobody knows, and the link its owner sets one with."""
    user = await accounts.create_user(
        session, email=email, name=name, password=secrets.token_urlsafe(32), role=role
    )
    return user, await start_reset(session, user, WELCOME_FOR)


# Not an argon2 hash, so no password matches it until a password link sets one.
NOT_A_HASH = "!imported"


async def imported_author(session: AsyncSession, email: str, name: str) -> User | None:
    """The account of an author named in another blog's export, made if missing: disabled
    and without a password, until an admin enables it and sends a password link. None
    when the export gives no usable email."""
    email = accounts.normalise_email(email)
    if "@" not in email.strip("@") or len(email) > 254 or any(c.isspace() for c in email):
        return None
    user = await accounts.by_email(session, email)
    if user is None:
        name = " ".join(name.split())[:100] or email.split("@")[0][:100]
        user = User(
            email=email,
            name=name,
            slug=await authors.free_slug(session, name, email),
            password_hash=NOT_A_HASH,
            disabled_at=utcnow(),
        )
        session.add(user)
        await session.flush()
    return user
