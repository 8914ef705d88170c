"""Which requests ask for ActivityStreams JSON rather than a page: read by the front
door and the page pipeline (which then leave the request to web/views/federation.py)."""

from __future__ import annotations

from collections.abc import Callable

# The types a fediverse server asks for; a browser asks for neither.
ACTIVITY_TYPES = ("application/activity+json", "application/ld+json")


def wants_activity(header: Callable[[str], str | None]) -> bool:
    """Does the request (by its headers, read through `header`) ask for ActivityStreams?"""
    accept = (header("accept") or "").lower()
    return any(kind in accept for kind in ACTIVITY_TYPES)
