"""Live pages: server-sent event streams of comment changes, fed by one hub per process.

A stream first sends what its page has not seen (the events after its Last-Event-ID,
or after the `after` id the page was rendered with), then what the hub hands it.
The hub (components/comments/hub) learns of new events from PostgreSQL's NOTIFY or, on
SQLite, by looking at the event log a few times a second, and reads them once for all
of the process's streams. Event ids are the SSE ids, so a browser that reconnects (to
any process) is sent exactly what it missed, and a stream skips what its catch-up
already sent.

A stream that falls too far behind is closed rather than buffered without end; its
browser reconnects and catches up from the log. On shutdown every stream is ended
cleanly, and browsers reconnect to another process.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator

from quart import Quart, Response, current_app, request, stream_with_context

from components.comments.hub import Hub, Render, Unavailable, catch_up
from components.text import parse_id
from web.database import ENGINE, SESSIONMAKER, release

HUB = "quire.stream_hub"
# Browsers wait this long before reconnecting after a stream ends (htmx doubles it on
# each failure after that).
RETRY_MS = 1000


def init_app(app: Quart) -> None:
    @app.while_serving
    async def run_hub() -> AsyncGenerator[None, None]:
        # A while_serving hook ends before any after_serving one: streams close before
        # the engine they read from is disposed (web/database).
        hub = Hub(
            app.extensions[ENGINE],
            app.extensions[SESSIONMAKER],
            limit=app.config["STREAM_LIMIT"],
            poll_seconds=app.config["STREAM_POLL_MS"] / 1000,
        )
        app.extensions[HUB] = hub
        yield
        await hub.close()
        app.extensions.pop(HUB, None)

    @app.errorhandler(Unavailable)
    async def busy(_error: Unavailable) -> Response:
        # The page works without its stream; a reconnecting browser tries again later.
        response = Response("Live updates are busy; try again shortly.", 503, mimetype="text/plain")
        response.headers["Retry-After"] = "5"
        response.headers["Cache-Control"] = "no-store"
        return response


async def end_streams(app: Quart) -> None:
    """Shutdown has begun: end every stream now, not after the graceful wait that the
    streams (which never end by themselves) would otherwise fill. Their browsers
    reconnect to a process that is still serving."""
    hub: Hub | None = app.extensions.get(HUB)
    if hub is not None:
        await hub.close()


def get_hub() -> Hub:
    return current_app.extensions[HUB]


def requested_after() -> int | None:
    """Where a stream takes up: the browser's Last-Event-ID, else the page's `after`;
    None when neither is given (the stream starts from now)."""
    for raw in (request.headers.get("Last-Event-ID", ""), request.args.get("after", "")):
        if raw.strip() == "0":
            return 0
        if (number := parse_id(raw)) is not None:
            return number
    return None


def message(event_id: int, data: str) -> bytes:
    """One SSE message: its id, and each line of `data` as a data line of its own."""
    lines = [f"id: {event_id}"]
    if data:
        # Split only where SSE itself splits, so a comment's code keeps its blank lines.
        lines += [f"data: {line}" for line in re.split(r"\r\n|\r|\n", data)]
    return ("\n".join(lines) + "\n\n").encode()


async def open_stream(*, post_id: int | None, after: int | None, render: Render) -> Response:
    """An event stream for one post's readers (or, with no post, a moderator's queue),
    from after event `after` (None: from now)."""
    hub = get_hub()
    # Streams may be many, connections are few: none is held while the stream waits.
    await release()
    subscription = await hub.subscribe(post_id)
    keepalive = current_app.config["STREAM_KEEPALIVE"]
    try:
        # Before the 200: a stream that cannot catch up (the pool exhausted by a crowd
        # reconnecting at once) is refused whole, 503 and try again, never cut after its
        # first byte.
        sent, missed = await catch_up(hub, post_id, after)
        first: list[bytes] = []
        for change in missed:
            if change.id > sent:
                first.append(message(change.id, await render(change)))
                sent = change.id
    except BaseException:
        hub.unsubscribe(subscription)
        raise

    @stream_with_context
    async def events() -> AsyncIterator[bytes]:
        nonlocal sent
        try:
            # Only once the stream knows where it starts: a client that has read this much
            # gets every event written after, even from a stream that starts from now.
            yield f"retry: {RETRY_MS}\n\n".encode()
            for caught_up in first:
                yield caught_up
            while (batch := await subscription.next(keepalive)) is not None:
                if batch == []:
                    yield b": ping\n\n"  # keeps proxies and the browser from giving up
                for change in batch:
                    if change.id > sent:
                        yield message(change.id, await render(change))
                        sent = change.id
        finally:
            hub.unsubscribe(subscription)

    response = Response(events(), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    # Proxies that buffer responses (nginx) would hold the events back.
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None
    return response
