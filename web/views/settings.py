"""The site's settings page, for admins: title, description, language, address, footer,
the default for comments and the default author.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, Response, current_app, request, url_for

from components import authors
from components import site as site_settings
from components.authors import ProfileError
from components.media import library as media_library
from components.media.files import folder_in
from components.media.refusals import MediaError
from components.models import Media
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
        "menu": site_settings.menu_text(site.current().menu),
        **(values or {}),
    }
    return await render(
        "settings.html",
        "partials/settings_form.html",
        fields=site_settings.FIELDS,
        choices={
            "newsletter": site_settings.NEWSLETTER_CHOICES,
            "followers": site_settings.FOLLOWERS_CHOICES,
        },
        mail_on=current_app.config["MAIL"] is not None,
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
    try:
        menu = site_settings.parse_menu(form.get("menu", ""))
    except site_settings.Invalid as error:
        errors["menu"] = f"The menu {error}."
    if errors:
        return await _page(422, values={**values, **_raw(form, errors)}, errors=errors)
    await site_settings.save(get_db(), values)
    await site_settings.save_default_author(get_db(), default_author)
    await site_settings.save_menu(get_db(), menu)
    # A new page, not the form alone: the header and the title show the new settings too.
    return see_other(url_for("settings.edit", saved=1))


@bp.post("/images")
@auth.admin_required
async def save_images() -> Response:
    """The logo and the icon: uploaded through the media library (so a file that is not an
    image is refused like any upload), or removed; a refusal changes neither."""
    user = await auth.current_user()
    files = await request.files
    form = await request.form
    chosen: dict[str, Media | bool | None] = {}
    for name in ("logo", "favicon"):
        upload = files.get(name)
        if upload is not None and (upload.filename or upload.content_length):
            try:
                chosen[name] = await media_library.store(
                    get_db(),
                    await asyncio.to_thread(upload.read),
                    filename=upload.filename or name,
                    owner=user,
                    max_bytes=current_app.config["MEDIA_MAX_BYTES"],
                    folder=folder_in(current_app.config["INSTANCE_PATH"]),
                    alt_text=f"The site's {name}",
                )
            except MediaError as error:
                return await _page(error.status, errors={name: str(error)})
        else:
            chosen[name] = None if form.get(f"remove_{name}") == "on" else True
    await site_settings.save_images(get_db(), logo=chosen["logo"], favicon=chosen["favicon"])
    return see_other(url_for("settings.edit", saved=1))


def _raw(form: Any, errors: dict[str, str]) -> dict[str, str]:
    """What was typed into the fields in error, shown again to be corrected."""
    return {name: form.get(name, "") for name in errors}
