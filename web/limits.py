"""Request headers past the size limit are refused with 431, before any view runs.

hypercorn bounds headers only while a request is still arriving, and it reads 64 KiB
at a time, so a request that comes whole in one read passes its check whatever its
headers weigh. The body's limits (MAX_CONTENT_LENGTH, MAX_FORM_MEMORY_SIZE) and its
timeout (BODY_TIMEOUT) are Quart's own settings, set in components/settings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import AnyStr

from quart import Quart, abort, current_app, request

# Per header, the ": " and CRLF that framed it on the wire.
FRAMING_BYTES = 4


def init_app(app: Quart) -> None:
    app.before_request(_check_header_size)


def headers_size(headers: Iterable[tuple[AnyStr, AnyStr]]) -> int:
    """What these headers weighed on the wire."""
    return sum(len(name) + len(value) + FRAMING_BYTES for name, value in headers)


async def _check_header_size() -> None:
    size = headers_size(request.headers.items())
    limit = current_app.config["MAX_HEADER_BYTES"]
    if size > limit:
        abort(431, f"The request's headers are too large ({size:,} bytes; at most {limit:,}).")
