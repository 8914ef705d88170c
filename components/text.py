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
