"""The hybrid rendering rule: a whole page, or only the fragment htmx asked for.

htmx 4 marks a request for part of a page with `HX-Request: true` and
`HX-Request-Type: partial`. Boosted links, boosted forms and history restores
ask for `full`, and get the whole page like any plain browser request.
"""

from __future__ import annotations

from collections.abc import Callable

from quart import request

# Every request header the choice below reads, so that no cache mixes the two answers.
VARY = ("HX-Request", "HX-Request-Type", "HX-Boosted", "HX-History-Restore-Request")


def wants_fragment() -> bool:
    return fragment_wanted(request.headers.get)


def fragment_wanted(header: Callable[[str], str | None]) -> bool:
    """Does a request with these headers (looked up by lower-case name) want a fragment?
    Also asked by the front door (web/pages/door.py), before there is a `request`."""
    return (
        header("hx-request") == "true"
        and header("hx-request-type") == "partial"
        and header("hx-boosted") != "true"
        and header("hx-history-restore-request") != "true"
    )
