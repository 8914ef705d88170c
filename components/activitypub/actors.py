"""This site's actors: the blog (`@blog@host`) and each author (`@slug@host`), with the
key pair each signs with, made the first time the actor is needed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import joinedload

from components.activitypub import signatures
from components.activitypub.signatures import new_key_pair
from components.models import AuthorProfile, LocalActor, Media, User

BLOG = "blog"


@dataclass(frozen=True)
class Profile:
    """What an actor document shows of an author: bio, links, avatar."""

    bio: str
    links: list[str]
    avatar: Media | None


@dataclass(frozen=True)
class Actor:
    """A local actor with the user it stands for (None for the blog)."""

    row: LocalActor
    user: User | None

    @property
    def username(self) -> str:
        return self.row.username

    @property
    def is_blog(self) -> bool:
        return self.user is None


def username_for(user: User) -> str:
    """An author's name in WebFinger: their slug, unless it is the blog's own."""
    return user.slug if user.slug != BLOG else f"{BLOG}-author"


async def blog(session: AsyncSession) -> Actor:
    return Actor(await _ensure(session, None, BLOG), None)


async def of_user(session: AsyncSession, user: User) -> Actor:
    return Actor(await _ensure(session, user.id, username_for(user)), user)


async def by_username(session: AsyncSession, username: str) -> Actor | None:
    """The actor `username` names, made if it is the blog or an active author's; None
    for anyone else."""
    found, user = await _owner(session, username)
    if not found:
        return None
    return await blog(session) if user is None else await of_user(session, user)


async def choices(session: AsyncSession) -> list[tuple[str, str]]:
    """Who can follow an account from here: the blog, and each active author, as
    (username, label)."""
    users = await session.scalars(
        select(User).where(User.disabled_at.is_(None)).order_by(User.name, User.id)
    )
    return [
        (BLOG, f"@{BLOG} (the blog)"),
        *((username_for(user), f"@{username_for(user)} ({user.name})") for user in users),
    ]


async def named(session: AsyncSession, username: str) -> bool:
    """Whether `username` is (or would be, once needed) one of our actors; reads only,
    where by_username would make a key pair."""
    return (await _owner(session, username))[0]


async def _owner(session: AsyncSession, username: str) -> tuple[bool, User | None]:
    """Whether `username` names an actor here, and the author it stands for (None for
    the blog)."""
    if username == BLOG:
        return True, None
    row = await session.scalar(select(LocalActor).where(LocalActor.username == username))
    if row is not None and row.user_id is not None:
        user = await session.get(User, row.user_id)
    else:
        slug = username.removesuffix("-author") if username == f"{BLOG}-author" else username
        user = await session.scalar(select(User).where(User.slug == slug))
        if user is not None and username_for(user) != username:
            return False, None
    if user is None or not user.is_active:
        return False, None
    return True, user


async def id_of(session: AsyncSession, username: str) -> int | None:
    """The id of our actor `username`, if it was ever made."""
    return await session.scalar(select(LocalActor.id).where(LocalActor.username == username))


async def existing(session: AsyncSession, user_id: int | None) -> LocalActor | None:
    """The actor of `user_id` (None: the blog) if it was ever made; without a key pair
    to make, for the paths that only need to know who follows whom."""
    if user_id is None:
        return await session.scalar(select(LocalActor).where(LocalActor.username == BLOG))
    return await session.scalar(select(LocalActor).where(LocalActor.user_id == user_id))


async def profile(session: AsyncSession, user_id: int) -> Profile:
    found = await session.scalar(
        select(AuthorProfile)
        .where(AuthorProfile.user_id == user_id)
        .options(joinedload(AuthorProfile.avatar).joinedload(Media.variants))
    )
    if found is None:
        return Profile("", [], None)
    return Profile(found.bio, list(found.links), found.avatar)


async def _ensure(session: AsyncSession, user_id: int | None, username: str) -> LocalActor:
    column = LocalActor.user_id == user_id if user_id is not None else LocalActor.username == BLOG
    row = await session.scalar(select(LocalActor).where(column))
    if row is not None:
        return row
    # RSA key generation takes some 100 ms of CPU: not on the event loop.
    keys = await asyncio.to_thread(new_key_pair)
    row = LocalActor(
        user_id=user_id, username=username, private_pem=keys.private_pem, public_pem=keys.public_pem
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another request made it first: theirs is the one.
        found = await session.scalar(select(LocalActor).where(column))
        if found is None:
            raise
        return found
    return row


class FetchSigner:
    """Signs this site's GETs of other servers' documents (actors, keys, notes) as the
    blog: servers in Mastodon's secure mode answer only signed fetches. The blog's key
    is read when the first fetch needs it; each signature is made in a thread."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], blog_uri: str) -> None:
        self.sessions = sessions
        self.key_id = f"{blog_uri}#main-key"
        self._key: Any = None

    async def __call__(self, url: str) -> dict[str, str]:
        if self._key is None:
            async with self.sessions() as session, session.begin():
                pem = (await blog(session)).row.private_pem
            self._key = await asyncio.to_thread(signatures.load_private, pem)
        return await asyncio.to_thread(
            signatures.sign, "GET", url, key_id=self.key_id, private_pem=self._key
        )
