"""The one function that turns a page into status, headers and body, for Quart and the
front door alike, and the one place each header of a page is decided.

- Cache-Control: browsers revalidate every time (max-age=0 with an ETag and
  Last-Modified), so a reader never sees a stale page; a shared cache or CDN may serve a
  public page for a minute (s-maxage). A request with cookies (a signed-in writer) gets a
  private answer no shared cache may keep; an answer that is never to be reused, no-store.
- Vary: every request header the choice of page or fragment reads (web/htmx.py), and
  Accept-Encoding.
- ETag: a kept page's is taken from the build of Quire, the moment of the content and
  the page's address, so it is known before the page is rendered; any other page's, from
  its body (with the stamps' placeholder, so a fresh stamp does not change it). It is weak
  whenever the reader accepts a coding, as web/compression.py marks what it encodes, so a
  304 carries the same ETag as the 200 it confirms.
- Last-Modified: the moment of the content (the clock), or what the view says.
- Content-Encoding and the stamp: web/pages/coding.py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from quart import Quart
from werkzeug.datastructures import Accept, ETags
from werkzeug.http import http_date, parse_accept_header, parse_date, parse_etags, quote_etag

from components.clock import Moment
from components.settings import PROJECT_ROOT
from web import assets, compression, htmx
from web.pages.coding import body_for
from web.pages.store import Entry, Key, Pages

BUILD = "quire.build"
SHARED_CACHE_SECONDS = 60
# Accept: a post's address answers ActivityStreams JSON to a server that asks for it.
VARY = (*htmx.VARY, "Accept", "Accept-Encoding")
PUBLIC = f"public, max-age=0, s-maxage={SHARED_CACHE_SECONDS}"
PRIVATE = "private, no-cache"
NO_STORE = "no-store"


@dataclass(frozen=True)
class Asked:
    """What a request says that its answer depends on."""

    accepted: Accept
    if_none_match: ETags | None = None
    if_modified_since: datetime | None = None
    head: bool = False  # no body goes out, so none is encoded (its length is the page's)

    @classmethod
    def from_headers(cls, headers: dict[str, str]) -> Asked:
        """From request headers by lower-case name (the front door's, before Quart)."""
        if_none_match = headers.get("if-none-match")
        if_modified_since = headers.get("if-modified-since")
        return cls(
            parse_accept_header(headers.get("accept-encoding")),
            parse_etags(if_none_match) if if_none_match else None,
            parse_date(if_modified_since) if if_modified_since else None,
        )


@dataclass(frozen=True)
class Validators:
    tag: str
    changed_at: datetime


@dataclass
class Answer:
    """A page for one reader: the headers are the entry's, then those made for this answer."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    made: list[tuple[str, str]] = field(default_factory=list)


def cache_control(*, storable: bool, private: bool) -> str:
    if not storable:
        return NO_STORE
    return PRIVATE if private else PUBLIC


def build_digest(app: Quart) -> str:
    """What the pages of this build of Quire are made by: its code, templates and assets.
    Part of every kept page's ETag, so a deploy never has a browser keep a page the old
    code made."""
    digest = hashlib.blake2b(digest_size=12)
    for folder, pattern in (("web", "*.py"), ("components", "*.py"), ("templates", "*")):
        for path in sorted((PROJECT_ROOT / folder).rglob(pattern)):
            if path.is_file():
                digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode())
                digest.update(path.read_bytes())
    digest.update(repr(sorted(app.extensions[assets.FINGERPRINTS].items())).encode())
    return digest.hexdigest()


def kept_validators(build: str, moment: Moment, key: Key) -> Validators:
    """A kept page's, known before it is rendered."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(f"{build}|{moment.version}|{moment.changed_at.isoformat()}|{key}".encode())
    return Validators(digest.hexdigest(), moment.changed_at)


def body_validators(entry: Entry, changed_at: datetime) -> Validators:
    """Any other page's, from its body as rendered (stamps not filled in)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in entry.parts:
        digest.update(part)
        digest.update(b"\0")
    return Validators(digest.hexdigest(), changed_at)


def is_current(validators: Validators, asked: Asked) -> bool:
    """Is the reader's copy, as its conditional headers describe it, the page now?"""
    if asked.if_none_match:
        return asked.if_none_match.contains_weak(validators.tag)
    if asked.if_modified_since:
        return validators.changed_at.replace(microsecond=0) <= asked.if_modified_since
    return False


def not_modified(validators: Validators, asked: Asked, headers: list[tuple[str, str]]) -> Answer:
    return Answer(304, headers, made=_validator_headers(validators, asked))


async def answer(
    entry: Entry,
    validators: Validators | None,
    asked: Asked,
    secret: str,
    pages: Pages | None = None,
    status: int = 200,
) -> Answer:
    """The page for this reader: 304 when its copy is current, else the body as it accepts
    it, with a fresh stamp. `pages` holds the entry when it is kept."""
    if validators is not None and is_current(validators, asked):
        return not_modified(validators, asked, entry.headers)
    accepted = Accept() if asked.head else asked.accepted
    body, coding = await body_for(entry, accepted, secret, pages)
    made = [("Content-Encoding", coding)] if coding else []
    if validators is not None:
        made += _validator_headers(validators, asked)
    return Answer(status, entry.headers, body, made)


def _validator_headers(validators: Validators, asked: Asked) -> list[tuple[str, str]]:
    weak = compression.negotiate(asked.accepted) is not None
    return [
        ("ETag", quote_etag(validators.tag, weak=weak)),
        ("Last-Modified", http_date(validators.changed_at)),
    ]
