"""Signed timestamps in forms, filled in after the page's ETag is taken.

The comment form carries the moment it was shown (components/comments/stamps.py), which
differs on every render. Writing it straight into the page would give every render
a new ETag, and a post page could never be answered 304 again. So templates write a
placeholder, the ETag is computed over that, and the real stamp replaces it last.
"""

from __future__ import annotations

import secrets

from quart import Response, current_app, g

from components.comments.stamps import issue_stamp

# Unguessable, so nothing a reader or author writes can stand in for it.
PLACEHOLDER = f"quire-stamp-{secrets.token_hex(16)}"


def placeholder() -> str:
    """For templates: where the form's stamp goes."""
    g.form_stamp = True
    return PLACEHOLDER


async def fill(response: Response) -> Response:
    """Put a fresh stamp where the page asked for one (a 304 has no body to fill)."""
    if not g.get("form_stamp") or response.status_code == 304:
        return response
    stamp = issue_stamp(current_app.config["SECRET_KEY"])
    body = await response.get_data()
    response.set_data(body.replace(PLACEHOLDER.encode(), stamp.encode()))
    return response
