"""Settings from the environment, checked once at start-up.

Each setting is parsed here and nowhere else; a missing or malformed one raises
ConfigError with a one-line message that names it.
"""

from __future__ import annotations

import math
import os
import secrets
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from components.comments.intake import Moderation, Rules
from components.db import SSL_MODES, Pool
from components.newsletter.config import (
    MailConfigError,
    MailSettings,
    parse_sender,
    parse_smtp_url,
)
from components.site import Invalid, from_environment
from components.throttle import Limits

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "production")
MIN_PRODUCTION_SECRET_LENGTH = 32
# token_urlsafe(48) estimates at about 350 bits; a 32-character hex key at about 120.
MIN_SECRET_BITS = 100
MIN_SECRET_SYMBOLS = 10
FORM_FIELD_BYTES = 5_000_000
# All workers together keep at most about this many PostgreSQL connections unless told
# otherwise: the limit of the smallest managed PostgreSQL plans, less room for a console
# and the release phase.
DEFAULT_CONNECTION_BUDGET = 20
# Each worker's own connection for the content clock, outside its pool.
CLOCK_CONNECTIONS = 1


class ConfigError(Exception):
    """A setting is missing or malformed; str() is one line naming it."""


def load_config(
    environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The app's settings: `overrides` (from code or tests) win over `environ`."""
    source: dict[str, Any] = {**environ, **(overrides or {})}

    def get(name: str, default: Any, parse: Callable[[str, Any], Any]) -> Any:
        raw = source.get(name)
        if raw is None or raw == "":
            return default
        return parse(name, raw)

    env = get("QUIRE_ENV", "development", _choice(ENVIRONMENTS))
    instance = get("QUIRE_INSTANCE_PATH", PROJECT_ROOT / "instance", _path)
    production = env == "production"
    workers = get("WEB_CONCURRENCY", 2, _int_between(1, 64))
    max_upload = get("QUIRE_MAX_UPLOAD_MB", 10, _int_between(1, 200)) * 1_000_000
    config = {
        "QUIRE_ENV": env,
        "INSTANCE_PATH": instance,
        "PORT": get("PORT", 5000, _int_between(1, 65535)),
        # The site's settings the environment fixes: they win over /admin/settings.
        "SITE_FIXED": _site_fixed(source),
        "POSTS_PER_PAGE": get("QUIRE_POSTS_PER_PAGE", 10, _int_between(1, 100)),
        "DATABASE_URL": get(
            "DATABASE_URL", f"sqlite+aiosqlite:///{instance / 'quire.db'}", _database_url
        ),
        "WEB_CONCURRENCY": workers,
        "DATABASE_POOL": _pool(get, workers),
        # Forwarded headers are believed only from this many proxies in front of us (0: none).
        "PROXY_HOPS": get("QUIRE_PROXY_HOPS", 0, _int_between(0, 10)),
        "PROXY_MODE": get("QUIRE_PROXY_MODE", "legacy", _choice(("legacy", "modern"))),
        # Serving (cli/serve): seconds a shutdown lets requests in flight finish, seconds
        # a connection may take to send a whole request, the most header bytes taken,
        # and seconds a request body may take to arrive (then 408).
        "GRACEFUL_TIMEOUT": get("QUIRE_GRACEFUL_TIMEOUT", 20, _int_between(1, 600)),
        "KEEP_ALIVE_TIMEOUT": get("QUIRE_KEEP_ALIVE_TIMEOUT", 5, _int_between(1, 300)),
        "MAX_HEADER_BYTES": get("QUIRE_MAX_HEADER_KB", 32, _int_between(4, 1024)) * 1024,
        "BODY_TIMEOUT": get("QUIRE_BODY_TIMEOUT", 60, _int_between(1, 3600)),
        # Log lines: JSON objects for a platform's log drain, or text for a terminal.
        "LOG_FORMAT": get(
            "QUIRE_LOG_FORMAT", "json" if production else "text", _choice(("json", "text"))
        ),
        "LOG_LEVEL": get(
            "QUIRE_LOG_LEVEL", "info", _choice(("debug", "info", "warning", "error"))
        ).upper(),
        "FEED_ENTRIES": get("QUIRE_FEED_ENTRIES", 20, _int_between(1, 200)),
        # Failed sign-ins allowed per account and per address in 15 minutes, then 429.
        "LOGIN_LIMITS": Limits(
            per_account=get("QUIRE_LOGIN_ATTEMPTS", 5, _int_between(1, 1000)),
            per_ip=get("QUIRE_LOGIN_ATTEMPTS_PER_IP", 20, _int_between(1, 10000)),
        ),
        "COMMENT_RULES": Rules(
            moderation=Moderation(
                get("QUIRE_COMMENT_MODERATION", "first", _choice(tuple(Moderation)))
            ),
            min_seconds=get("QUIRE_COMMENT_MIN_SECONDS", 3, _int_between(0, 600)),
            max_links=get("QUIRE_COMMENT_MAX_LINKS", 2, _int_between(0, 50)),
            per_ip=get("QUIRE_COMMENTS_PER_IP", 5, _int_between(1, 10000)),
        ),
        # When a post's comments are switched off, its existing comments stay (or go).
        "CLOSED_COMMENTS": get("QUIRE_CLOSED_COMMENTS", "show", _choice(("show", "hide"))),
        # Live comment streams: open at once per process, seconds between keep-alives,
        # and (on SQLite, which cannot notify) milliseconds between looks at the event log.
        "STREAM_LIMIT": get("QUIRE_STREAM_LIMIT", 500, _int_between(1, 100_000)),
        "STREAM_KEEPALIVE": get("QUIRE_STREAM_KEEPALIVE", 15, _int_between(1, 300)),
        # Public pages kept in memory by each process (web/pages/store.py); 0 keeps none.
        "PAGE_CACHE_BYTES": get("QUIRE_PAGE_CACHE_MB", 32, _int_between(0, 4096)) * 1_000_000,
        "STREAM_POLL_MS": get("QUIRE_STREAM_POLL_MS", 500, _int_between(50, 60_000)),
        # An image upload may be this large; a larger one is refused with 413.
        "MEDIA_MAX_BYTES": max_upload,
        # A form field held in memory (the editor's text: up to a million characters).
        "MAX_FORM_MEMORY_SIZE": FORM_FIELD_BYTES,
        # Any request body: room for an upload or a long post, plus the rest of the form.
        "MAX_CONTENT_LENGTH": max(max_upload, FORM_FIELD_BYTES) + 1_000_000,
        # Mail to subscribers (components/newsletter): None when it is off.
        "MAIL": _mail(get),
        # The outbox worker inside each server process, and how long it rests when there
        # is nothing to send (tests switch it off and send by hand).
        "OUTBOX_WORKER": get("QUIRE_OUTBOX_WORKER", True, _switch),
        "OUTBOX_IDLE_MS": get("QUIRE_OUTBOX_IDLE_MS", 5000, _int_between(10, 60_000)),
        # Fetch other sites' pages from private and loopback addresses too: for tests
        # between instances on 127.0.0.1 only; refused in production (components/fetch.py).
        "FETCH_PRIVATE": get("QUIRE_FETCH_PRIVATE", False, _switch),
        "SECRET_KEY": _secret_key(source.get("SECRET_KEY"), production, instance),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
    }
    if production and config["FETCH_PRIVATE"]:
        raise ConfigError("QUIRE_FETCH_PRIVATE: only for tests, never in production")
    # Anything else a caller passes (tests' TESTING, say) goes through untouched.
    for key, value in (overrides or {}).items():
        config.setdefault(key, value)
    return config


def _choice(options: tuple[str, ...]) -> Callable[[str, Any], str]:
    def parse(name: str, raw: Any) -> str:
        value = str(raw).strip().lower()
        if value not in options:
            raise ConfigError(f"{name}: must be one of {', '.join(options)}, not {raw!r}")
        return value

    return parse


def _int_between(low: int, high: int) -> Callable[[str, Any], int]:
    def parse(name: str, raw: Any) -> int:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ConfigError(f"{name}: must be a whole number, not {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(f"{name}: must be between {low} and {high}, not {value}")
        return value

    return parse


def _switch(name: str, raw: Any) -> bool:
    value = str(raw).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: must be on or off, not {raw!r}")


def _mail(get: Callable[[str, Any, Callable[[str, Any], Any]], Any]) -> MailSettings | None:
    def checked(parse: Callable[[str], Any]) -> Callable[[str, Any], Any]:
        def run(name: str, raw: Any) -> Any:
            try:
                return parse(str(raw))
            except MailConfigError as error:
                raise ConfigError(f"{name}: {error}") from None

        return run

    smtp = get("QUIRE_SMTP_URL", None, checked(parse_smtp_url))
    sender = get("QUIRE_MAIL_FROM", None, checked(parse_sender))
    per_minute = get("QUIRE_MAIL_PER_MINUTE", 120, _int_between(1, 100_000))
    if smtp is None and sender is None:
        return None
    if smtp is None or sender is None:
        missing = "QUIRE_SMTP_URL" if smtp is None else "QUIRE_MAIL_FROM"
        raise ConfigError(f"{missing}: required with the other mail setting, or unset both")
    return MailSettings(smtp=smtp, sender=sender, per_minute=per_minute)


def _site_fixed(source: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return from_environment({name: str(value) for name, value in source.items()})
    except Invalid as error:
        raise ConfigError(str(error)) from None


def _path(_name: str, raw: Any) -> Path:
    return Path(raw).expanduser().resolve()


def _database_url(name: str, raw: Any) -> str:
    """Accept the URLs a PaaS or a developer writes and name Quire's async drivers."""
    try:
        url: URL = make_url(str(raw).strip())
    except ArgumentError:
        # The raw value may hold a password: never echo it.
        raise ConfigError(
            f"{name}: not a database URL (expected sqlite:/// or postgresql://)"
        ) from None
    backend = url.get_backend_name()
    if backend in ("postgres", "postgresql"):
        if not url.host and not url.query.get("host"):
            raise ConfigError(f"{name}: a PostgreSQL URL needs a host")
        url = url.set(drivername="postgresql+asyncpg")
        sslmode = url.query.get("sslmode")
        if sslmode is not None and sslmode not in SSL_MODES:
            raise ConfigError(f"{name}: sslmode must be one of {', '.join(SSL_MODES)}")
    elif backend == "sqlite":
        url = url.set(drivername="sqlite+aiosqlite")
    else:
        raise ConfigError(f"{name}: unsupported database {backend!r} (use SQLite or PostgreSQL)")
    return url.render_as_string(hide_password=False)


def _pool(get: Callable[[str, Any, Callable[[str, Any], Any]], Any], workers: int) -> Pool:
    """PostgreSQL pool settings for one worker process of `workers`.

    By default each worker keeps half its share of the connection budget open and may
    open the rest under load but one, which the content clock holds outside the pool
    (components/clock.Reader); so a scaled-out instance stays within a small plan's
    limit. The stream hub's LISTEN connection comes out of the pool, hence two at least.
    """
    share = max(2 + CLOCK_CONNECTIONS, DEFAULT_CONNECTION_BUDGET // workers)
    size = get("QUIRE_DB_POOL_SIZE", max(2, share // 2), _int_between(2, 500))
    overflow = max(0, share - CLOCK_CONNECTIONS - size)
    return Pool(
        size=size,
        overflow=get("QUIRE_DB_MAX_OVERFLOW", overflow, _int_between(0, 500)),
        timeout=get("QUIRE_DB_POOL_TIMEOUT", 10, _int_between(1, 300)),
        statement_timeout=get("QUIRE_DB_STATEMENT_TIMEOUT", 30, _int_between(0, 3600)),
    )


def weak_secret(key: str) -> str | None:
    """Why `key` is too weak to sign production cookies, or None. Strength is estimated
    from the key itself (its length times the Shannon entropy of its characters), so a
    long key of few characters ("k" * 48, "abab…") is refused like a short one."""
    if len(key) < MIN_PRODUCTION_SECRET_LENGTH:
        return f"must be at least {MIN_PRODUCTION_SECRET_LENGTH} characters"
    counts = Counter(key)
    bits = max(0.0, -sum(n * math.log2(n / len(key)) for n in counts.values()))
    if len(counts) < MIN_SECRET_SYMBOLS or bits < MIN_SECRET_BITS:
        return f"too easy to guess (about {bits:.0f} bits; at least {MIN_SECRET_BITS} needed)"
    return None


def _secret_key(raw: Any, production: bool, instance: Path) -> str:
    if raw:
        key = str(raw)
        if production and (problem := weak_secret(key)) is not None:
            raise ConfigError(
                f"SECRET_KEY: {problem} in production (make one with: "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        return key
    if production:
        raise ConfigError(
            "SECRET_KEY: required when QUIRE_ENV=production "
            "(make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return _development_secret(instance)


def _development_secret(instance: Path) -> str:
    """A key made once per checkout and kept in instance/, so sessions survive restarts."""
    path = instance / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        # O_EXCL: when several workers start at once, exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(key)
    return key
