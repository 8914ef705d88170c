"""Brotli or gzip for text responses: pages, feeds, CSS, JavaScript and SVG.

Pages, CSS and htmx.min.js shrink to about a third, which matters most on slow mobile links,
and hypercorn compresses nothing itself. The coding follows Accept-Encoding: the highest
q-value among br and gzip wins, br on a tie, and `q=0` refuses a coding.

What is compressed: responses of 200, and error pages (4xx/5xx), of a text type,
at least MIN_SIZE bytes long. Never a HEAD, a 304, a 206 range, a redirect, a body
that is already encoded or marked no-transform, nor a streamed body (server-sent events
must reach the client as they are written, so `text/event-stream` is never touched).

Pages are compressed per request at a moderate level (they change); static files are
compressed once at the highest level in a worker thread and kept in memory, keyed by
path, size and mtime, since they are few and small.

ETag: a compressed body is not byte-identical to the identity one, so its ETag is made
weak (`W/"…"`). If-None-Match uses the weak comparison (RFC 9110 13.1.2, werkzeug's
`contains_weak`), so the W/ tag a browser sends back still matches the strong tag that
`make_conditional` compares against, and revalidation still answers 304. The tag is
weakened whenever the client accepts a coding, whatever the body's size, so that a 304
carries the same ETag as the 200 it confirms.
"""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import brotli
from quart import Quart, Response, current_app, request
from quart.wrappers.response import DataBody, FileBody
from werkzeug.datastructures import Accept

STATIC_CACHE = "quire.compressed_static"
CODINGS = ("br", "gzip")  # in order of preference on equal q-values
MIN_SIZE = 500  # below this the headers cost more than the saving
MAX_STATIC_SIZE = 1024 * 1024  # bigger files are streamed from disk as they are
INLINE_LIMIT = 64 * 1024  # bigger dynamic bodies are compressed in a worker thread
DYNAMIC_LEVEL = {"br": 5, "gzip": 6}  # fast: a page is compressed on every request
STATIC_LEVEL = {"br": 11, "gzip": 9}  # best: a static file is compressed once
TEXT_TYPES = {
    "application/atom+xml",
    "application/javascript",
    "application/json",
    "application/ld+json",
    "application/manifest+json",
    "application/rss+xml",
    "application/xml",
    "image/svg+xml",
}
StaticEntry = tuple[tuple[int, int], bytes]  # ((size, mtime_ns), encoded bytes)


def init_app(app: Quart) -> None:
    app.extensions[STATIC_CACHE] = {}
    app.after_request(compress)


def negotiate(accepted: Accept) -> str | None:
    """The coding to use for these Accept-Encoding values, or None for identity."""
    best = max(CODINGS, key=accepted.quality)
    return best if accepted.quality(best) > 0 else None


def is_text(mimetype: str) -> bool:
    if mimetype == "text/event-stream":
        return False
    return mimetype.startswith("text/") or mimetype in TEXT_TYPES


def encode(data: bytes, coding: str, level: int) -> bytes:
    if coding == "br":
        return brotli.compress(data, quality=level)
    return gzip.compress(data, compresslevel=level, mtime=0)


async def compress(response: Response) -> Response:
    if (
        not is_text(response.mimetype or "")
        or "Content-Encoding" in response.headers
        or response.cache_control.no_transform
    ):
        return response
    # The body now depends on Accept-Encoding, even when this one goes out as it is.
    response.vary.add("Accept-Encoding")
    coding = negotiate(request.accept_encodings)
    if coding is None:
        return response
    etag, weak = response.get_etag()
    if etag and not weak:
        response.set_etag(etag, weak=True)
    status = response.status_code
    if request.method == "HEAD" or not (status == 200 or status >= 400):
        return response
    body = await _compressed_body(response, coding)
    if body is not None:
        response.set_data(body)  # also sets Content-Length
        response.headers["Content-Encoding"] = coding
    return response


async def _compressed_body(response: Response, coding: str) -> bytes | None:
    """The encoded body, or None to send it as it is (too small, too big, or streamed)."""
    body = response.response
    if isinstance(body, DataBody):
        data = body.data
        if len(data) < MIN_SIZE:
            return None
        if len(data) <= INLINE_LIMIT:
            return encode(data, coding, DYNAMIC_LEVEL[coding])
        return await asyncio.to_thread(encode, data, coding, DYNAMIC_LEVEL[coding])
    if isinstance(body, FileBody) and MIN_SIZE <= body.size <= MAX_STATIC_SIZE:
        cache = current_app.extensions[STATIC_CACHE]
        return await asyncio.to_thread(_compressed_file, cache, body.file_path, coding)
    return None


def _compressed_file(cache: dict[tuple[Path, str], StaticEntry], path: Path, coding: str) -> bytes:
    """From the cache while the file's size and mtime are unchanged (runs in a worker thread)."""
    stat = path.stat()
    stamp = (stat.st_size, stat.st_mtime_ns)
    entry = cache.get((path, coding))
    if entry is None or entry[0] != stamp:
        entry = cache[path, coding] = (
            stamp,
            encode(path.read_bytes(), coding, STATIC_LEVEL[coding]),
        )
    return entry[1]
