"""Characters no page needs, refused before any view reads them.

PostgreSQL cannot store a NUL character in text, and SQLite stores it as is, so a NUL
that got in on one database would break the other; XML (the feeds, the sitemap) allows
no control character but tab and line breaks. An address holding one is nothing we
serve: 404. A form field (or a file's name) holding one, or a query parameter holding
NUL, is answered 400 with the field and the character named, so the writer knows what to fix
and nothing is stored. Tabs and line breaks are text, and stay.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from quart import Quart, abort, request

# C0 controls but tab, line feed and carriage return; and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PATH_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def init_app(app: Quart) -> None:
    app.before_request(_refuse_control_characters)


def storable(text: str) -> bool:
    """Can `text` be looked up in the database (as an old address, say)?"""
    return _PATH_CONTROL.search(text) is None


def control_character(value: str) -> str | None:
    """The first character of `value` that no field may hold, as U+XXXX, or None."""
    found = _CONTROL.search(value)
    return None if found is None else f"U+{ord(found[0]):04X}"


async def _refuse_control_characters() -> None:
    if not storable(request.path):
        abort(404)
    # A parameter is read, not stored (a search, where to go next): only NUL, which no
    # PostgreSQL statement can carry, is refused there.
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            abort(400, f"The address's parameter “{_shown(name)}” holds a NUL character (U+0000).")
    if request.method in {"POST", "PUT", "PATCH", "DELETE"} and request.mimetype in {
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    }:
        _check_fields("The field", (await request.form).items(multi=True))
        files = await request.files
        _check_fields(
            "The name of the file in",
            ((name, upload.filename or "") for name, upload in files.items(multi=True)),
        )


def _check_fields(what: str, fields: Iterable[tuple[str, str]]) -> None:
    for name, value in fields:
        for text in (name, value):
            if (character := control_character(text)) is not None:
                abort(
                    400,
                    f"{what} “{_shown(name)}” holds a control character ({character}), "
                    "which cannot be stored. Remove it and send again.",
                )


def _shown(name: str) -> str:
    """A field's name as it may be shown: its control characters left out."""
    return _CONTROL.sub("", name)[:60] or "(unnamed)"
