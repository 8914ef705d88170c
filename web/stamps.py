"""Where a form's signed timestamp goes, filled in after the page's ETag is taken.

The comment form carries the moment it was shown (components/comments/stamps.py), which
differs on every answer. Writing it straight into the page would give every render
a new ETag, and a post page could never be answered 304 again. So templates write a
placeholder, the ETag is computed over that, and the page pipeline puts a fresh stamp
in its place in each answer (web/pages/coding.py).
"""

from __future__ import annotations

import secrets

# Unguessable, so nothing a reader or author writes can stand in for it.
PLACEHOLDER = f"quire-stamp-{secrets.token_hex(16)}"


def placeholder() -> str:
    """For templates: where the form's stamp goes."""
    return PLACEHOLDER
