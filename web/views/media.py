"""The media library over HTTP: uploads, the library page, and serving the files.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from quart import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    request,
    send_file,
)
from werkzeug.exceptions import RequestEntityTooLarge

from components.media import library as media_library
from components.media.files import folder_in, materialise
from components.media.names import content_type_of, file_name
from components.media.refusals import MediaError
from components.models import Media, User
from web import auth, errors, notices
from web.database import get_db
from web.responses import render, see_other
from web.urls import media_url

bp = Blueprint("media", __name__)

# A hashed name never changes content, so a browser or CDN may keep it for good.
IMMUTABLE = "public, max-age=31536000, immutable"


def folder() -> Path:
    return folder_in(current_app.config["INSTANCE_PATH"])


bp.add_app_template_global(file_name, "media_file_name")


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _owner_filter(user: User) -> User | None:
    return None if user.is_admin else user


@bp.get("/media/<name>")
async def file(name: str) -> Response:
    """An image by content hash; the file is written from the database when missing."""
    path = await materialise(get_db(), name, folder())
    if path is None:
        abort(404)
    response = await send_file(path, mimetype=content_type_of(name), conditional=True)
    response.headers["Cache-Control"] = IMMUTABLE
    response.headers["Content-Disposition"] = "inline"
    return response


async def _library(
    user: User,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    fragment: str = "partials/media_library.html",
    **context: Any,
) -> Response:
    query = request.args.get("q", "")[:200]
    items: Sequence[Media] = await media_library.library(
        get_db(), owner=_owner_filter(user), query=query
    )
    context.setdefault("form", {})
    context.setdefault("errors", {})
    return await render(
        "media_library.html",
        fragment,
        status=status,
        items=items,
        q=query,
        user=user,
        error=error,
        notice=notice or notices.notice(),
        max_mb=_max_mb(),
        **context,
    )


def _max_mb() -> int:
    return current_app.config["MEDIA_MAX_BYTES"] // 1_000_000


async def _refused(user: User, message: str, status: int, alt_text: str = "") -> Response:
    """A refused upload: the editor gets the reason as JSON to show; the library's form
    comes back with the alt text kept and the reason beside the file field."""
    if _wants_json():
        response = jsonify({"error": message})
        response.status_code = status
        return response
    return await _library(
        user,
        status=status,
        fragment="partials/media_upload.html",
        form={"alt_text": alt_text},
        errors={"file": message},
    )


@bp.get("/admin/media")
@auth.login_required
async def library() -> Response:
    """Your images (an admin: everyone's), searchable by name and alt text."""
    user = await auth.current_user()
    assert user is not None
    return await _library(user)


@bp.post("/admin/media")
@auth.login_required
async def upload() -> Response:
    """Add an image. The editor's drop and paste ask for JSON (the Markdown to insert);
    the library's plain form gets the library page back."""
    user = await auth.current_user()
    assert user is not None
    files = await request.files
    form = await request.form
    upload = files.get("file")
    try:
        if upload is None or (not upload.filename and not upload.content_length):
            raise MediaError("Choose an image file to upload.")
        # A spooled upload may sit in a temporary file: read it off the event loop.
        data = await asyncio.to_thread(upload.read)
        stored = await media_library.store(
            get_db(),
            data,
            filename=upload.filename or "",
            owner=user,
            max_bytes=current_app.config["MEDIA_MAX_BYTES"],
            folder=folder(),
            alt_text=form.get("alt_text", ""),
        )
    except MediaError as error:
        return await _refused(user, str(error), error.status, form.get("alt_text", ""))
    if _wants_json():
        url = media_url(stored)
        alt = form.get("alt_text", "").replace("]", "").replace("\n", " ").strip()
        response = jsonify({"url": url, "markdown": f"![{alt}]({url})", "id": stored.id})
        response.status_code = 201
        return response
    return see_other(notices.url_with_notice("media.library", f"Uploaded {stored.filename}."))


@bp.errorhandler(RequestEntityTooLarge)
async def too_large(error: RequestEntityTooLarge) -> Response:
    """Past the cap on a whole request the body is never read, so the view never runs:
    say the limit here, in the words and the shape the upload's sender expects."""
    user = await auth.current_user()
    if user is None:
        return await errors.page_for(error)
    return await _refused(user, f"The file is too large; the limit is {_max_mb()} MB.", 413)


@bp.post("/admin/media/<int:media_id>/delete")
@auth.login_required
async def delete(media_id: int) -> Response:
    """Delete an image no post uses; otherwise say which posts do."""
    user = await auth.current_user()
    assert user is not None
    item = await media_library.by_id(get_db(), media_id)
    if item is None:
        abort(404)
    if not user.is_admin and item.owner_id != user.id:
        abort(403)
    try:
        await media_library.delete(get_db(), item, folder())
    except MediaError as error:
        return await _library(user, status=error.status, error=str(error))
    return see_other(notices.url_with_notice("media.library", f"Deleted {item.filename}."))
