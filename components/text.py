"""Small text rules shared by posts, tags and imports."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")
MAX_SLUG_LENGTH = 80


def slugify(text: str, max_length: int = MAX_SLUG_LENGTH) -> str:
    """An ASCII, lower-case, hyphenated form of `text` for use in URLs.

    Accents are folded ("Crème brûlée" -> "creme-brulee"); text with no Latin
    letters or digits at all gives an empty string, which callers must handle.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_WORD.sub("-", folded.lower()).strip("-")
    return slug[:max_length].rstrip("-")


# The largest id a row can have: PostgreSQL's `integer` (SQLite's go further, but an id
# past this could never be found on PostgreSQL, so none is looked for on either).
MAX_ID = 2**31 - 1


def parse_id(raw: str | None) -> int | None:
    """A row's id as a form or an address gave it, or None when it cannot be one: not
    plain ASCII digits ("²" is a digit to `str.isdigit`), zero, or past MAX_ID."""
    raw = (raw or "").strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > len(str(MAX_ID)):
        return None
    number = int(raw)
    return number if 0 < number <= MAX_ID else None
