"""Fingerprinted URLs for static files, so that browsers may cache them for a year."""

from __future__ import annotations

import hashlib
from pathlib import Path

from quart import Quart, Response, current_app, request, url_for

FINGERPRINTS = "quire.asset_fingerprints"
# Files the base layout needs; start-up fails clearly when one is missing.
REQUIRED = (
    "css/quire.css",
    "css/admin.css",
    "vendor/htmx.min.js",
    "vendor/hx-sse.min.js",
    "vendor/hx-upsert.min.js",
)
LIVE_SCRIPTS = ("vendor/hx-sse.min.js", "vendor/hx-upsert.min.js")
ONE_YEAR = 365 * 24 * 3600


class MissingAsset(RuntimeError):
    pass


def init_app(app: Quart) -> None:
    folder = Path(app.static_folder or "")
    for name in REQUIRED:
        if not (folder / name).is_file():
            hint = " (run `make` or `npm ci`: htmx comes from npm)" if "vendor/" in name else ""
            raise MissingAsset(f"static/{name} is missing{hint}")
    # Hashed once at start-up: a deploy changes the files and restarts the app.
    app.extensions[FINGERPRINTS] = {
        path.relative_to(folder).as_posix(): _digest(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    app.add_template_global(asset_url)
    app.add_template_global(live_scripts)
    app.after_request(_cache_fingerprinted)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def asset_url(filename: str) -> str:
    version = current_app.extensions[FINGERPRINTS].get(filename)
    return url_for("static", filename=filename, v=version)


def live_scripts() -> str:
    """The htmx extensions a live page loads (static/js/quire.js), as one attribute value:
    only the pages that stream need them, so no other page pays for them."""
    return " ".join(asset_url(name) for name in LIVE_SCRIPTS)


async def _cache_fingerprinted(response: Response) -> Response:
    if request.endpoint != "static" or response.status_code != 200:
        return response
    filename = (request.view_args or {}).get("filename")
    version = current_app.extensions[FINGERPRINTS].get(filename)
    if version is not None and request.args.get("v") == version:
        response.cache_control.public = True
        response.cache_control.max_age = ONE_YEAR
        response.cache_control.immutable = True
        response.cache_control.no_cache = None
    return response
