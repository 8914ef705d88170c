"""ActivityPub and its discovery: WebFinger, NodeInfo, this site's actors and their
collections, the inboxes, and posts shown as Articles to a server that asks for
ActivityStreams at a post's own address.

The inboxes manage their own transactions (not the one-per-request of web/database.py):
a signature may need the sender's key fetched from its server first, and no
transaction waits on another server.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from quart import Blueprint, Response, abort, current_app, request, url_for
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from components import posts
from components.activitypub import actors, documents, inbox, receiving
from components.activitypub import following as following_accounts
from components.activitypub.inbox import Here, Rejected
from components.models import Follower, FollowerState, Post, PostKind, User
from components.outbox import queue
from web import csrf, database, federation, site
from web.database import SESSIONMAKER, get_db
from web.federation import Links
from web.negotiation import wants_activity
from web.urls import post_url

bp = Blueprint("federation", __name__)

ACTIVITY_JSON = documents.LD_TYPE
OUTBOX_ITEMS = 20


def _json(
    document: dict[str, Any], content_type: str = ACTIVITY_JSON, status: int = 200
) -> Response:
    response = Response(json.dumps(document), status, content_type=content_type)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "public, max-age=0, s-maxage=60"
    response.vary.add("Accept")
    return response


def _text(message: str, status: int) -> Response:
    response = Response(message + "\n", status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def _links() -> Links:
    return Links(site.origin())


@bp.before_app_request
async def negotiate() -> Response | None:
    """A post's or page's own address, asked for as ActivityStreams: the Article."""
    if request.endpoint not in ("blog.post", "blog.page") or request.method not in ("GET", "HEAD"):
        return None
    if not wants_activity(request.headers.get):
        return None
    federation.available()
    assert request.view_args is not None
    slug = str(request.view_args["slug"])
    db = get_db()
    post = await posts.as_article(db, slug, page=request.endpoint == "blog.page")
    if post is None:
        abort(404)
    if post.kind is PostKind.POST and post_url(post) != request.path:
        abort(404)  # another date before the slug: not this post's address
    author = await _author_of(db, post)
    return _json(documents.article(post, _links(), author=_links().actor(author)))


async def _author_of(db: AsyncSession, post: Post) -> str:
    """The username of the actor a post is attributed to: its author's, else the blog's."""
    user = await db.get(User, post.author_id) if post.author_id else None
    if user is not None and user.is_active:
        return (await actors.of_user(db, user)).username
    return actors.BLOG


@bp.get("/.well-known/webfinger")
async def webfinger() -> Response:
    """Who `acct:name@host` (or an actor's address) is: the actor's address."""
    federation.available()
    resource = request.args.get("resource", "").strip()
    if not resource:
        return _text("The resource parameter is missing (acct:name@host).", 400)
    host = site.origin().split("://", 1)[1].lower()
    username = federation.username_at(resource)
    if username is None:
        name, _, at = resource.removeprefix("acct:").lstrip("@").partition("@")
        if not resource.startswith("acct:") or not name or not at:
            return _text("The resource must be acct:name@host or an actor's address.", 400)
        if at.lower() != host:
            return _text(f"Only accounts at {host} are known here.", 404)
        username = name
    actor = await actors.by_username(get_db(), username)
    if actor is None:
        return _text(f"No account {username}@{host} here.", 404)
    profile = await _profile_url(actor)
    document = documents.webfinger(
        f"acct:{actor.username}@{host}", actor_uri=_links().actor(actor.username), profile=profile
    )
    return _json(document, documents.JRD_TYPE)


async def _profile_url(actor: actors.Actor) -> str:
    if actor.user is None:
        return _links().home()
    return _links().author_page(actor.user.slug)


@bp.get("/.well-known/nodeinfo")
async def nodeinfo_links() -> Response:
    """Where this server's NodeInfo is."""
    href = site.origin() + url_for("federation.nodeinfo")
    return _json(documents.nodeinfo_links(href), "application/json")


@bp.get("/nodeinfo/2.1")
async def nodeinfo() -> Response:
    """What this server is: software, protocols, how many writers and posts."""
    db = get_db()
    users = await db.scalar(select(func.count(User.id)).where(User.disabled_at.is_(None))) or 0
    document = documents.nodeinfo(
        version=current_app.config.get("VERSION", "0.1.0"),
        users=users,
        posts=await posts.count(db),
        name=site.current().title,
    )
    return _json(document, documents.NODEINFO_TYPE)


async def _actor_or_404(username: str) -> actors.Actor:
    federation.available()
    actor = await actors.by_username(get_db(), username)
    if actor is None:
        abort(404)
    return actor


@bp.get("/ap/actors/<username>")
async def actor(username: str) -> Response:
    """The blog or an author as a Person: name, bio, avatar, links, public key."""
    found = await _actor_or_404(username)
    manual = site.current().followers == "manual"
    links = _links()
    if found.user is None:
        current = site.current()
        document = documents.actor(
            links,
            username=found.username,
            name=current.title,
            summary=current.description,
            url=links.home(),
            public_pem=found.row.public_pem,
            published=found.row.created_at,
            manual=manual,
        )
    else:
        profile = await actors.profile(get_db(), found.user.id)
        document = documents.actor(
            links,
            username=found.username,
            name=found.user.name,
            summary=profile.bio,
            url=links.author_page(found.user.slug),
            public_pem=found.row.public_pem,
            published=found.user.created_at,
            manual=manual,
            icon=profile.avatar,
            profile_links=profile.links,
        )
    return _json(document)


@bp.get("/ap/actors/<username>/followers")
async def followers(username: str) -> Response:
    """How many follow this actor (who they are is theirs to say)."""
    found = await _actor_or_404(username)
    total = await get_db().scalar(
        select(func.count(Follower.id)).where(
            Follower.actor_id == found.row.id, Follower.state == FollowerState.ACCEPTED
        )
    )
    return _json(documents.collection(documents.followers(_links().actor(username)), total or 0))


@bp.get("/ap/actors/<username>/following")
async def following(username: str) -> Response:
    """How many this actor follows."""
    found = await _actor_or_404(username)
    total = await following_accounts.count(get_db(), found.row.id)
    return _json(documents.collection(documents.following(_links().actor(username)), total))


@bp.get("/ap/actors/<username>/outbox")
async def outbox(username: str) -> Response:
    """The actor's latest posts, as the Create activities that announced them."""
    found = await _actor_or_404(username)
    db = get_db()
    where = None if found.user is None else found.user.id
    recent, total = await posts.latest_articles(db, author_id=where, limit=OUTBOX_ITEMS)
    links = _links()
    actor_uri = links.actor(username)
    items = [
        documents.create(documents.article(post, links, author=actor_uri), actor=actor_uri)
        for post in recent
    ]
    return _json(documents.collection(documents.outbox(actor_uri), total, items))


@bp.post("/ap/inbox", endpoint="shared_inbox")
@bp.post("/ap/actors/<username>/inbox")
@csrf.open_to_other_sites
@database.own_transactions
async def inbox_post(username: str | None = None) -> Response:
    """An activity from another server: its signature checked, then done (202)."""
    federation.available()
    if username is not None and await _exists(username) is False:
        abort(404)
    if (request.content_length or 0) > inbox.MAX_BYTES:
        return _text(f"An activity is at most {inbox.MAX_BYTES:,} bytes.", 413)
    body = await _body()
    if body is None:
        return _text(f"An activity is at most {inbox.MAX_BYTES:,} bytes.", 413)
    sessions = current_app.extensions[SESSIONMAKER]
    try:
        sender = await receiving.receive(
            sessions,
            method=request.method,
            target=request.full_path.removesuffix("?") if request.query_string else request.path,
            headers=dict(request.headers),
            body=body,
            host=urlsplit(site.origin()).netloc,
            allow_private=current_app.config["FETCH_PRIVATE"],
            sign=actors.FetchSigner(sessions, _links().actor(actors.BLOG)),
        )
    except Rejected as rejected:
        response = _text(str(rejected), rejected.status)
        if rejected.status == 429:
            response.headers["Retry-After"] = str(int(inbox.WINDOW.total_seconds()))
        return response
    if sender.done:
        return _text(sender.done, 202)
    here = Here(
        username_at=federation.username_at,
        post_at=federation.post_at,
        origin=site.origin(),
        manual=site.current().followers == "manual",
        max_links=current_app.config["COMMENT_RULES"].max_links,
    )

    async def work(session: AsyncSession) -> str:
        return await receiving.take(session, sender, here)

    try:
        done = await queue.in_transaction(sessions, work)
    except Rejected as rejected:
        return _text(str(rejected), rejected.status)
    return _text(f"Accepted: {done}.", 202)


async def _exists(username: str) -> bool:
    async with current_app.extensions[SESSIONMAKER]() as session:
        return await actors.named(session, username)


async def _body() -> bytes | None:
    """The request's body, or None past the limit (read no further than it)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.body:
        size += len(chunk)
        if size > inbox.MAX_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
