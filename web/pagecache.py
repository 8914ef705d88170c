"""Public pages kept in memory, rendered once for each state of the content.

A reader without cookies gets the same page as every other reader, so a public page, once
rendered and compressed, is kept and sent again until the content changes. Every request
first reads the content clock (components/changes.py), so a write acknowledged to anyone
is on the next page any worker sends, and answers If-None-Match and If-Modified-Since
from it before anything is rendered. The clock is read once for many requests: one that
arrives while a read is in flight waits for the next read, which starts after it came in,
so no request is ever answered from a read made before it arrived.

When a page is missing (after a write, every page is), the first request for it renders
it and the others that ask for it meanwhile wait for that one page rather than each
rendering their own.

The comment form carries a stamp that differs on every page served (web/stamps.py). Such
a page keeps its parts between the stamps, each compressed on its own as a gzip member's
deflate blocks; an answer strings them together around a fresh stamp.

Only views marked `@cached` are kept, only for GET requests without cookies, and only
200s that neither set a cookie nor touched the session.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
import zlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from quart import Quart, Response, current_app, g, request, session
from werkzeug.datastructures import Accept, ETags

from components import changes
from components.changes import State
from components.comments.stamps import issue_stamp
from web import assets, caching, compression, htmx, stamps
from web.config import PROJECT_ROOT
from web.database import ENGINE

PAGES = "quire.pages"
CLOCK = "quire.clock"
BUILD = "quire.build"
# In an ASGI request's scope: the clock as the front door read it (web/frontdoor.py), and
# the key of the kept page the answer was made from, for the door to learn.
SCOPE_STATE = "quire.state"
SCOPE_KEPT = "quire.kept"
V = TypeVar("V", bound=Callable[..., object])
# What a kept answer carries over from the response it was made from.
KEPT_HEADERS = ("Content-Type", "Cache-Control", "Vary", "Content-Language")
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, no mtime, unknown OS
Key = tuple[str, str, bool]  # host URL, path with query, fragment or page


def cached(view: V) -> V:
    """Mark a public view whose answers to readers without cookies may be kept."""
    view.page_cache = True  # type: ignore[attr-defined]
    return view


def init_app(app: Quart) -> None:
    app.extensions[PAGES] = Pages(app.config["PAGE_CACHE_BYTES"])
    app.extensions[BUILD] = _build_digest(app)
    # Registered after the other checks (size limits, CSRF), so those still come first.
    app.before_request(_answer_early)
    app.teardown_request(_land)
    app.after_serving(_close_clock)


def _build_digest(app: Quart) -> str:
    """What the pages of this build of Quire are made by: its code, templates and assets.
    Part of every ETag, so a deploy never has a browser keep a page the old code made."""
    digest = hashlib.blake2b(digest_size=12)
    for folder, pattern in (("web", "*.py"), ("components", "*.py"), ("templates", "*")):
        for path in sorted((PROJECT_ROOT / folder).rglob(pattern)):
            if path.is_file():
                digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode())
                digest.update(path.read_bytes())
    digest.update(repr(sorted(app.extensions[assets.FINGERPRINTS].items())).encode())
    return digest.hexdigest()


# --- the clock --------------------------------------------------------------------------


class Clock:
    """Reads of the content clock, each shared by the requests that wait for it."""

    def __init__(
        self,
        read: Callable[[], Awaitable[State]],
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._read = read
        self._close = close
        self._reading: asyncio.Task[None] | None = None
        self._next: asyncio.Future[State] | None = None

    async def close(self) -> None:
        """Let go of what the reads need (the connection), once serving ends."""
        if self._reading is not None:
            # Not cancelled: the driver's thread would still hand its answer to a loop that
            # may be closed by then. A read is bounded by the database's own timeouts.
            await asyncio.wait([self._reading])
        if self._close is not None:
            await self._close()

    async def now(self) -> State:
        """The clock as read by a statement that started after this call."""
        loop = asyncio.get_running_loop()
        if self._reading is None:
            waiter: asyncio.Future[State] = loop.create_future()
            self._reading = asyncio.create_task(self._reads(waiter))
        else:
            # The read in flight may have started before we came: wait for the next one.
            if self._next is None:
                self._next = loop.create_future()
            waiter = self._next
        # A request that goes away stops waiting, without cancelling the others' read.
        return await asyncio.shield(waiter)

    async def _reads(self, waiter: asyncio.Future[State]) -> None:
        while True:
            try:
                waiter.set_result(await self._read())
            except Exception as error:
                waiter.set_exception(error)
                waiter.exception()  # retrieved: those waiting raise it, none is left unseen
            if self._next is None:
                self._reading = None
                return
            waiter, self._next = self._next, None


def clock_of(extensions: dict[str, Any]) -> Clock:
    """The app's clock, from its extensions (made on first use, once the engine is open)."""
    clock: Clock | None = extensions.get(CLOCK)
    if clock is None:
        reader = changes.Reader(extensions[ENGINE])
        clock = extensions[CLOCK] = Clock(reader.read, reader.close)
    return clock


async def _close_clock() -> None:
    """The clock's connection goes with the engine it came from."""
    clock: Clock | None = current_app.extensions.pop(CLOCK, None)
    if clock is not None:
        await clock.close()


# --- the pages --------------------------------------------------------------------------


@dataclass
class Entry:
    """A kept page: its headers, and its body cut where stamps go."""

    headers: list[tuple[str, str]]
    parts: list[bytes]
    encoded: dict[str, bytes] = field(default_factory=dict)  # whole bodies, when no stamps
    deflated: list[bytes] = field(default_factory=list)  # each part's blocks, with stamps
    head_crc: int = 0  # the CRC-32 of the first part

    @property
    def stamped(self) -> bool:
        return len(self.parts) > 1

    @property
    def size(self) -> int:
        kept = (*self.parts, *self.encoded.values(), *self.deflated)
        return sum(map(len, kept)) + 512  # and the headers, roughly


class Pages:
    """One process's pages for the current state of the content, within a byte budget;
    the least recently used go first."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.state: State | None = None
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._size = 0
        # Pages being rendered, by the request that renders them, for those that wait.
        self._flights: dict[tuple[State, Key], asyncio.Future[Entry | None]] = {}

    def get(self, state: State, key: Key) -> Entry | None:
        if state != self.state:
            return None
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, state: State, key: Key, entry: Entry) -> None:
        if state != self.state:
            # Newer content (or, from a request that read the clock earlier, older: then
            # the next request that reads the newer clock starts over again).
            self.clear()
            self.state = state
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= old.size
        self._entries[key] = entry
        self._size += entry.size
        self.grew()

    def clear(self) -> None:
        self._entries.clear()
        self._size = 0

    def grew(self) -> None:
        while self._size > self.budget and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self._size -= dropped.size

    def add_size(self, extra: int) -> None:
        self._size += extra
        self.grew()

    def rendering(self, state: State, key: Key) -> asyncio.Future[Entry | None] | None:
        """The page being rendered for (state, key) by another request, or None; then
        the caller is the one to render it, and must call `landed` when it is done."""
        flight = self._flights.get((state, key))
        if flight is None:
            self._flights[(state, key)] = asyncio.get_running_loop().create_future()
        return flight

    def landed(self, state: State, key: Key, entry: Entry | None) -> None:
        """The page for (state, key) is rendered (None: it is not to be kept; those who
        waited render their own)."""
        flight = self._flights.pop((state, key), None)
        if flight is not None and not flight.done():
            flight.set_result(entry)


def _pages() -> Pages:
    return current_app.extensions[PAGES]


def _key() -> Key:
    return (request.host_url, request.full_path, htmx.wants_fragment())


def etag(build: str, state: State, key: Key) -> str:
    digest = hashlib.blake2b(digest_size=12)
    digest.update(f"{build}|{state.version}|{state.changed_at.isoformat()}|{key}".encode())
    return digest.hexdigest()


def _may_keep() -> bool:
    if request.method != "GET" or request.cookies or not _pages().budget:
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "page_cache", False)


async def _answer_early() -> Response | None:
    """Before the view: 304 when the reader's copy is current, or the kept page."""
    if not _may_keep():
        return None
    # The front door (web/frontdoor.py) read the clock already, after the request came.
    state = request.scope.get(SCOPE_STATE) or await clock_of(current_app.extensions).now()
    key = _key()
    g.page = (state, key)
    tag = etag(current_app.extensions[BUILD], state, key)
    if is_current(state, tag, request.if_none_match, request.if_modified_since):
        response = Response(status=304)
        _validators(response, state, tag)
        caching.set_policy(response)
        response.vary.update((*htmx.VARY, "Accept-Encoding"))
        return response
    pages = _pages()
    entry = pages.get(state, key)
    if entry is None:
        flight = pages.rendering(state, key)
        if flight is None:
            g.rendering = True  # this request renders it, for the others
            return None
        # A request that goes away stops waiting, without failing the renderer.
        entry = await asyncio.shield(flight)
        if entry is None:
            return None
    return await _answer(entry, state, tag)


async def _land(_error: BaseException | None) -> None:
    """Release those waiting for a page this request was to render but did not keep
    (an error, a redirect, a cookie): each renders its own."""
    if g.pop("rendering", False):
        _pages().landed(*g.page, None)


def is_current(
    state: State, tag: str, if_none_match: ETags | None, if_modified_since: datetime | None
) -> bool:
    """Is the reader's copy, as its conditional headers describe it, the page now?"""
    if if_none_match:
        return if_none_match.contains_weak(tag)
    if if_modified_since:
        return state.changed_at.replace(microsecond=0) <= if_modified_since
    return False


def weak_tag(accepted: Accept) -> bool:
    """Is the ETag for a reader who accepts these codings weak? Wherever the body may be
    encoded, as web/compression.py marks its answers."""
    return compression.negotiate(accepted) is not None


def _validators(response: Response, state: State, tag: str) -> None:
    response.set_etag(tag, weak=weak_tag(request.accept_encodings))
    response.last_modified = state.changed_at


def state() -> State | None:
    """The clock as this request read it, when its answer may be kept (else None)."""
    page: tuple[State, Key] | None = g.get("page")
    return page[0] if page else None


async def keep(response: Response) -> Response | None:
    """Keep this public page, rendered for this request, and what to send in its place;
    None when it must not be kept after all (it sets a cookie, or read the session)."""
    state, key = g.page
    if response.status_code != 200 or "Set-Cookie" in response.headers or session.accessed:
        return None  # those waiting for it are released when this request ends
    body = await response.get_data()
    entry = Entry(
        [(name, response.headers[name]) for name in KEPT_HEADERS if name in response.headers],
        body.split(stamps.PLACEHOLDER.encode()),
    )
    if entry.stamped:
        entry.deflated = [_deflate(part) for part in entry.parts]
        entry.head_crc = zlib.crc32(entry.parts[0])
    pages = _pages()
    pages.put(state, key, entry)
    g.form_stamp = False  # the stamps are ours to fill now (web/stamps.py)
    answer = await _answer(entry, state, etag(current_app.extensions[BUILD], state, key))
    # After the answer, so that its coding is kept before those waiting go on.
    if g.pop("rendering", False):
        pages.landed(state, key, entry)
    return answer


async def _answer(entry: Entry, state: State, tag: str) -> Response:
    body, coding = await body_for(
        entry, request.accept_encodings, current_app.config["SECRET_KEY"], _pages()
    )
    response = Response(body, status=200, headers=entry.headers)
    if coding:
        response.headers["Content-Encoding"] = coding
    response.vary.add("Accept-Encoding")
    _validators(response, state, tag)
    request.scope[SCOPE_KEPT] = g.page[1]
    return response


async def body_for(
    entry: Entry, accepted: Accept, secret: str, pages: Pages
) -> tuple[bytes, str | None]:
    """The page's body for a reader who accepts these codings, and the coding used; a
    page with a comment form gets a fresh stamp."""
    coding = compression.negotiate(accepted)
    if not entry.stamped:
        whole = entry.parts[0]
        if coding is None or len(whole) < compression.MIN_SIZE:
            return whole, None
        if coding not in entry.encoded:
            encoded = await _encode(whole, coding)
            entry.encoded[coding] = encoded
            pages.add_size(len(encoded))
        return entry.encoded[coding], coding
    stamp = issue_stamp(secret).encode()
    if accepted.quality("gzip") > 0:
        return _gzip_with(entry, stamp), "gzip"
    whole = stamp.join(entry.parts)
    if coding is None:
        return whole, None
    return await _encode(whole, coding), coding


async def _encode(data: bytes, coding: str) -> bytes:
    level = compression.DYNAMIC_LEVEL[coding]
    if len(data) <= compression.INLINE_LIMIT:
        return compression.encode(data, coding, level)
    return await asyncio.to_thread(compression.encode, data, coding, level)


def _deflate(data: bytes) -> bytes:
    """Deflate blocks for `data` alone: they refer to nothing before or after them, and end
    on a byte boundary, so they can be put together with others into one stream."""
    compressor = zlib.compressobj(compression.DYNAMIC_LEVEL["gzip"], zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


_END = zlib.compressobj(wbits=-15).flush(zlib.Z_FINISH)  # an empty, final deflate block


def _gzip_with(entry: Entry, stamp: bytes) -> bytes:
    """The page as one gzip member, its parts' kept blocks around freshly deflated stamps."""
    stamp_blocks = _deflate(stamp)
    crc, length = entry.head_crc, len(entry.parts[0])
    pieces = [GZIP_HEADER, entry.deflated[0]]
    for part, blocks in zip(entry.parts[1:], entry.deflated[1:], strict=True):
        crc = zlib.crc32(part, zlib.crc32(stamp, crc))
        length += len(stamp) + len(part)
        pieces += (stamp_blocks, blocks)
    pieces += (_END, struct.pack("<II", crc, length & 0xFFFFFFFF))
    return b"".join(pieces)
