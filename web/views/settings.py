"""The site's settings page, for admins: title, description, language, address, footer,
the default for comments and the default author.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request, url_for

from components import authors
from components import site as site_settings
from components.authors import ProfileError
from web import auth, site
from web.database import get_db
from web.responses import render, see_other

bp = Blueprint("settings", __name__, url_prefix="/admin/settings")
SAVED = "Settings saved. Every page shows them from the next request on."


async def _page(
    status: int = 200,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    fixed = site.fixed()
    db = get_db()
    shown = {
        **(await site_settings.load(db, fixed)).__dict__,
        "default_author": await authors.chosen_default(db),
        **(values or {}),
    }
    return await render(
        "settings.html",
        "partials/settings_form.html",
        fields=site_settings.FIELDS,
        people=await authors.bylines(db),
        values=shown,
        fixed=fixed,
        errors=errors or {},
        notice=notice,
        status=status,
    )


@bp.get("/")
@auth.admin_required
async def edit() -> Response:
    """The form, with the fields the environment fixes shown but not editable."""
    saved = request.args.get("saved") == "1"
    return await _page(notice=SAVED if saved else None)


@bp.post("/")
@auth.admin_required
async def save() -> Response:
    """Keep the settings; a field that cannot take its value changes nothing at all."""
    form = await request.form
    values, errors = site_settings.parse_form(form, site.fixed())
    try:
        default_author = await authors.parse_default(get_db(), form.get("default_author", ""))
    except ProfileError as error:
        errors["default_author"] = str(error)
    if errors:
        return await _page(422, values={**values, **_raw(form, errors)}, errors=errors)
    await site_settings.save(get_db(), values)
    await site_settings.save_default_author(get_db(), default_author)
    # A new page, not the form alone: the header and the title show the new settings too.
    return see_other(url_for("settings.edit", saved=1))


def _raw(form: Any, errors: dict[str, str]) -> dict[str, str]:
    """What was typed into the fields in error, shown again to be corrected."""
    return {name: form.get(name, "") for name in errors}
