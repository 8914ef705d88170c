"""A writer's public profile, on /account/profile: the name on their posts, their author
page's address, a short bio, links and an avatar (an upload, checked like any other).

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, Response, current_app, request, url_for

from components import authors
from components.authors import ProfileError
from components.media import library as media_library
from components.media.files import folder_in
from components.media.refusals import MediaError
from components.models import Media, User
from web import auth
from web.database import get_db
from web.responses import render, see_other

bp = Blueprint("profile", __name__, url_prefix="/account/profile")
SAVED = "Profile saved. Your author page and bylines show it from now on."


async def _page(status: int = 200, **context: Any) -> Response:
    user = await auth.current_user()
    assert user is not None
    profile = await authors.profile_of(get_db(), user)
    shown = {
        "name": user.name,
        "slug": user.slug,
        "bio": profile.bio,
        "links": "\n".join(profile.links),
        **context.pop("values", {}),
    }
    return await render(
        "profile.html",
        "partials/profile_form.html",
        status=status,
        user=user,
        avatar=profile.avatar,
        values=shown,
        errors=context.pop("errors", {}),
        notice=context.pop("notice", None),
    )


async def _avatar(user: User) -> Media | None:
    """The uploaded avatar, stored in the media library, or None when none was sent."""
    upload = (await request.files).get("avatar")
    if upload is None or (not upload.filename and not upload.content_length):
        return None
    data = await asyncio.to_thread(upload.read)
    return await media_library.store(
        get_db(),
        data,
        filename=upload.filename or "avatar",
        owner=user,
        max_bytes=current_app.config["MEDIA_MAX_BYTES"],
        folder=folder_in(current_app.config["INSTANCE_PATH"]),
        alt_text=f"{user.name}",
    )


@bp.get("/")
@auth.login_required
async def edit() -> Response:
    """The profile form, with the author page it makes linked."""
    return await _page(notice=SAVED if request.args.get("saved") else None)


@bp.post("/")
@auth.login_required
async def save() -> Response:
    """Keep the profile; a field in error, or an upload that is not an image, changes nothing."""
    user = await auth.current_user()
    assert user is not None
    form = await request.form
    values, errors = authors.parse_profile(form)
    if errors:
        return await _page(422, values=_typed(form), errors=errors)
    try:
        avatar = await _avatar(user)
        await authors.save_profile(get_db(), user, values, avatar)
    except MediaError as error:
        return await _page(error.status, values=_typed(form), errors={"avatar": str(error)})
    except ProfileError as error:
        return await _page(422, values=_typed(form), errors={"slug": str(error)})
    return see_other(url_for("profile.edit", saved=1))


@bp.post("/avatar/remove")
@auth.login_required
async def remove_avatar() -> Response:
    """Take the avatar off the profile (the image stays in the media library)."""
    user = await auth.current_user()
    assert user is not None
    await authors.remove_avatar(get_db(), user)
    return see_other(url_for("profile.edit", saved=1))


def _typed(form: Any) -> dict[str, str]:
    """What was typed, shown again to be corrected."""
    return {name: form.get(name, "") for name in ("name", "slug", "bio", "links")}
