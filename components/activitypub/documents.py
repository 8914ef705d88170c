"""The JSON-LD documents this site shows the fediverse, in the shapes Mastodon reads:
actors, articles, the activities that carry them, WebFinger and NodeInfo answers.

Plain functions over plain values: the addresses come from `Links`, which the web side
makes (components/ never builds URLs of its own).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from components.models import Media, Post, PostKind, Tag

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"
SECURITY = "https://w3id.org/security/v1"
# What Mastodon adds to the ActivityStreams context for the properties it reads.
EXTRA_TERMS = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "toot": "http://joinmastodon.org/ns#",
    "discoverable": "toot:discoverable",
    "indexable": "toot:indexable",
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
}
CONTEXT: list[Any] = [AS, SECURITY, EXTRA_TERMS]
ACTIVITY_TYPE = "application/activity+json"
# The media types an ActivityStreams document may come as (with parameters after them).
ACTIVITY_TYPES = (ACTIVITY_TYPE, "application/ld+json")
LD_TYPE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JRD_TYPE = "application/jrd+json"
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
NODEINFO_TYPE = f'application/json; profile="{NODEINFO_SCHEMA}#"'


class Links(Protocol):
    """Absolute addresses on this site."""

    def actor(self, username: str) -> str: ...

    def shared_inbox(self) -> str: ...

    def post(self, post: Post) -> str: ...

    def tag(self, tag: Tag) -> str: ...

    def author_page(self, slug: str) -> str: ...

    def home(self) -> str: ...

    def media(self, item: Media) -> str: ...


def inbox(actor: str) -> str:
    return f"{actor}/inbox"


def outbox(actor: str) -> str:
    return f"{actor}/outbox"


def followers(actor: str) -> str:
    return f"{actor}/followers"


def following(actor: str) -> str:
    return f"{actor}/following"


def key_id(actor: str) -> str:
    return f"{actor}#main-key"


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def actor(
    links: Links,
    *,
    username: str,
    name: str,
    summary: str,
    url: str,
    public_pem: str,
    published: datetime,
    manual: bool,
    icon: Media | None = None,
    profile_links: Sequence[str] = (),
) -> dict[str, Any]:
    """A Person: the blog or an author. `summary` is plain text; `profile_links` are
    shown as verified-link fields (rel="me")."""
    uri = links.actor(username)
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": uri,
        "type": "Person",
        "preferredUsername": username,
        "name": name,
        "summary": f"<p>{html.escape(summary)}</p>" if summary else "",
        "url": url,
        "inbox": inbox(uri),
        "outbox": outbox(uri),
        "followers": followers(uri),
        "following": following(uri),
        "endpoints": {"sharedInbox": links.shared_inbox()},
        "manuallyApprovesFollowers": manual,
        "discoverable": True,
        "indexable": True,
        "published": _time(published),
        "publicKey": {"id": key_id(uri), "owner": uri, "publicKeyPem": public_pem},
        "attachment": [
            {
                "type": "PropertyValue",
                "name": "Website" if number == 0 else f"Link {number + 1}",
                "value": (
                    f'<a href="{html.escape(link)}" rel="me nofollow noopener" '
                    f'target="_blank">{html.escape(link)}</a>'
                ),
            }
            for number, link in enumerate(profile_links)
        ],
    }
    if icon is not None:
        document["icon"] = {
            "type": "Image",
            "mediaType": icon.content_type,
            "url": links.media(icon),
        }
    return document


def article(post: Post, links: Links, *, author: str) -> dict[str, Any]:
    """A post as an Article (a page as a Page), from `author`'s actor, public, with its
    tags as hashtags. Mastodon shows an Article's name, summary and link."""
    url = links.post(post)
    assert post.published_at is not None, "only published posts are articles"
    document: dict[str, Any] = {
        "@context": [AS, EXTRA_TERMS],
        "id": url,
        "type": "Page" if post.kind is PostKind.PAGE else "Article",
        "attributedTo": author,
        "name": post.title,
        "summary": post.description or post.excerpt,
        "content": post.body_html,
        "mediaType": "text/html",
        "url": url,
        "published": _time(post.published_at),
        "to": [PUBLIC],
        "cc": [followers(author)],
        "sensitive": False,
        "tag": [
            {"type": "Hashtag", "href": links.tag(tag), "name": "#" + tag.name.replace(" ", "")}
            for tag in post.tags
        ],
    }
    if post.in_reply_to:
        document["inReplyTo"] = post.in_reply_to
    if post.updated_at > post.published_at:
        document["updated"] = _time(post.updated_at)
    return document


def create(article: dict[str, Any], *, actor: str) -> dict[str, Any]:
    return _wrapped("Create", f"{article['id']}#create", actor, article)


def update(article: dict[str, Any], *, actor: str, at: str) -> dict[str, Any]:
    return _wrapped("Update", f"{article['id']}#update-{at}", actor, article)


def delete(object_id: str, *, actor: str, at: str) -> dict[str, Any]:
    tombstone = {"id": object_id, "type": "Tombstone"}
    activity = _wrapped("Delete", f"{object_id}#delete-{at}", actor, tombstone)
    activity["@context"] = AS
    return activity


def announce(object_id: str, *, actor: str) -> dict[str, Any]:
    """The blog sharing an author's post with the blog's own followers."""
    return {
        "@context": AS,
        "id": f"{object_id}#announce",
        "type": "Announce",
        "actor": actor,
        "object": object_id,
        "to": [PUBLIC],
        "cc": [followers(actor)],
    }


def answer(kind: str, follow: dict[str, Any], *, actor: str, number: int) -> dict[str, Any]:
    """Accept or Reject of a Follow (the Follow as it came, so the follower knows it)."""
    return {
        "@context": AS,
        "id": f"{actor}#{kind.lower()}-{number}",
        "type": kind,
        "actor": actor,
        "object": follow,
    }


def follow(follow_id: str, *, actor: str, whom: str) -> dict[str, Any]:
    return {"@context": AS, "id": follow_id, "type": "Follow", "actor": actor, "object": whom}


def undo(activity: dict[str, Any], *, actor: str) -> dict[str, Any]:
    """Take `activity` back (a Follow, when we stop following)."""
    inner = {key: value for key, value in activity.items() if key != "@context"}
    return {
        "@context": AS,
        "id": f"{activity['id']}/undo",
        "type": "Undo",
        "actor": actor,
        "object": inner,
    }


def _wrapped(kind: str, uri: str, actor: str, item: dict[str, Any]) -> dict[str, Any]:
    inner = {key: value for key, value in item.items() if key != "@context"}
    return {
        "@context": item.get("@context", AS),
        "id": uri,
        "type": kind,
        "actor": actor,
        "published": item.get("updated") or item.get("published"),
        "to": item.get("to", [PUBLIC]),
        "cc": item.get("cc", []),
        "object": inner,
    }


def collection(uri: str, total: int, items: Sequence[Any] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": AS,
        "id": uri,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if items is not None:
        document["orderedItems"] = list(items)
    return document


def webfinger(subject: str, *, actor_uri: str, profile: str) -> dict[str, Any]:
    return {
        "subject": subject,
        "aliases": [actor_uri, profile],
        "links": [
            {"rel": "self", "type": ACTIVITY_TYPE, "href": actor_uri},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile},
        ],
    }


def nodeinfo_links(href: str) -> dict[str, Any]:
    return {"links": [{"rel": NODEINFO_SCHEMA, "href": href}]}


def nodeinfo(*, version: str, users: int, posts: int, name: str) -> dict[str, Any]:
    return {
        "version": "2.1",
        "software": {"name": "quire", "version": version},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["atom1.0"]},
        "openRegistrations": False,
        "usage": {"users": {"total": users}, "localPosts": posts},
        "metadata": {"nodeName": name},
    }
