"""The Quire web app: `create_app()` builds it, hypercorn serves `web:create_app()`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from quart import Quart

from components.settings import PROJECT_ROOT, ConfigError, load_config
from web import (
    assets,
    auth,
    compression,
    csrf,
    database,
    errors,
    filters,
    headers,
    inputs,
    limits,
    logs,
    outbox,
    proxy,
    site,
    stamps,
    streams,
    urls,
)
from web.pages import door, respond
from web.views import (
    accounts,
    admin,
    api,
    blog,
    comments,
    discovery,
    federation,
    followers,
    following,
    health,
    media,
    moderation,
    newsletter,
    people,
    previews,
    profile,
    search,
    settings,
    subscribers,
    webmention,
)


def create_app(config: Mapping[str, Any] | None = None) -> Quart:
    """Build the app from the environment; `config` overrides it (tests use this).

    A bad setting or a missing asset stops start-up with one line that names it.
    """
    try:
        loaded = load_config(os.environ, config)
    except ConfigError as error:
        raise SystemExit(f"quire: configuration error: {error}") from None

    app = Quart(
        __name__,
        static_folder=str(PROJECT_ROOT / "static"),
        template_folder=str(PROJECT_ROOT / "templates"),
        instance_path=str(loaded["INSTANCE_PATH"]),
    )
    app.config.from_mapping(loaded)
    # Pages are read far more than written: no indentation noise in what we send.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    loaded["INSTANCE_PATH"].mkdir(parents=True, exist_ok=True)

    try:
        assets.init_app(app)
    except assets.MissingAsset as error:
        raise SystemExit(f"quire: {error}") from None
    database.init_app(app)
    streams.init_app(app)
    outbox.init_app(app)
    headers.init_app(app)
    compression.init_app(app)
    errors.init_app(app)
    limits.init_app(app)  # before csrf: an oversized request is refused unread
    inputs.init_app(app)  # then what no database can store, before any view reads it
    site.init_app(app)  # then another host's request is sent to the site's own
    csrf.init_app(app)
    auth.init_app(app)
    respond.init_app(app)  # after the checks above, which still come first
    urls.init_app(app)
    filters.init_app(app)
    app.register_blueprint(blog.bp)
    app.register_blueprint(discovery.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(media.bp)
    app.register_blueprint(comments.bp)
    app.register_blueprint(moderation.bp)
    app.register_blueprint(settings.bp)
    app.register_blueprint(people.bp)
    app.register_blueprint(profile.bp)
    app.register_blueprint(newsletter.bp)
    app.register_blueprint(subscribers.bp)
    app.register_blueprint(webmention.bp)
    app.register_blueprint(federation.bp)
    app.register_blueprint(followers.bp)
    app.register_blueprint(following.bp)
    app.register_blueprint(previews.bp)
    api.init_app(app)  # the JSON API under /api/, and quart-schema for its OpenAPI document
    app.jinja_env.globals["form_stamp"] = stamps.placeholder
    door.init_app(app)  # inside the access log, which covers what the door answers
    logs.init_app(app)  # inside the proxy fix below, so it logs the client's own address
    if loaded["PROXY_HOPS"]:
        # Only then do X-Forwarded-* (or Forwarded) set the scheme, host and client address.
        app.asgi_app = proxy.ProxyFix(  # type: ignore[method-assign]
            app.asgi_app, loaded["PROXY_MODE"], loaded["PROXY_HOPS"]
        )
    return app
