"""Settings from the environment: defaults, rewrites, and one clear line when wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from components.settings import PROJECT_ROOT, ConfigError, load_config
from web import create_app


def test_defaults_use_sqlite_in_the_instance_folder(tmp_path: Path) -> None:
    config = load_config({"QUIRE_INSTANCE_PATH": str(tmp_path)})
    assert config["DATABASE_URL"] == f"sqlite+aiosqlite:///{tmp_path / 'quire.db'}"
    assert config["PORT"] == 5000
    assert config["QUIRE_ENV"] == "development"
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example:5432/blog", "postgresql+asyncpg://u:p@db.example:5432/blog"),
        ("postgresql://u@localhost/blog", "postgresql+asyncpg://u@localhost/blog"),
        ("sqlite:///relative.db", "sqlite+aiosqlite:///relative.db"),
        ("sqlite+aiosqlite:////abs/quire.db", "sqlite+aiosqlite:////abs/quire.db"),
    ],
)
def test_database_urls_are_rewritten_to_async_drivers(
    tmp_path: Path, given: str, expected: str
) -> None:
    config = load_config({"QUIRE_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": given})
    assert config["DATABASE_URL"] == expected


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PORT": "eighty"}, "PORT: must be a whole number"),
        ({"PORT": "70000"}, "PORT: must be between 1 and 65535"),
        ({"DATABASE_URL": "mysql://root@localhost/blog"}, "DATABASE_URL: unsupported database"),
        ({"DATABASE_URL": "not a url at all"}, "DATABASE_URL: not a database URL"),
        ({"DATABASE_URL": "postgresql:///blog"}, "DATABASE_URL: a PostgreSQL URL needs a host"),
        ({"QUIRE_ENV": "staging"}, "QUIRE_ENV: must be one of development, production"),
        ({"QUIRE_ENV": "production"}, "SECRET_KEY: required when QUIRE_ENV=production"),
        (
            {"QUIRE_ENV": "production", "SECRET_KEY": "short"},
            "SECRET_KEY: must be at least 32 characters",
        ),
        ({"QUIRE_POSTS_PER_PAGE": "0"}, "QUIRE_POSTS_PER_PAGE: must be between 1 and 100"),
    ],
)
def test_bad_settings_name_the_setting(tmp_path: Path, environ: dict, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config({"QUIRE_INSTANCE_PATH": str(tmp_path), **environ})
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_database_password_is_never_echoed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(
            {"QUIRE_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "oracle://u:hunter2@h/d"}
        )
    assert "hunter2" not in str(raised.value)


def test_production_turns_on_secure_cookies(tmp_path: Path) -> None:
    config = load_config(
        {"QUIRE_INSTANCE_PATH": str(tmp_path), "QUIRE_ENV": "production", "SECRET_KEY": KEY}
    )
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SECRET_KEY"] == KEY


KEY = "mBvT3q8xZ1pLr7Wc9NfK2hYd5sJ0gA4u"


@pytest.mark.parametrize("weak", ["k" * 48, "ab" * 30, "abc123" * 8])
def test_production_refuses_a_key_too_easy_to_guess(tmp_path: Path, weak: str) -> None:
    """As `quire check --deploy` says: the server does not start on such a key."""
    with pytest.raises(ConfigError, match="SECRET_KEY: too easy to guess"):
        load_config(
            {"QUIRE_INSTANCE_PATH": str(tmp_path), "QUIRE_ENV": "production", "SECRET_KEY": weak}
        )


def test_development_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_config({"QUIRE_INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    second = load_config({"QUIRE_INSTANCE_PATH": str(tmp_path)})["SECRET_KEY"]
    assert first == second
    assert len(first) >= 32
    key_file = tmp_path / "secret_key"
    assert key_file.read_text() == first
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_overrides_win_over_the_environment(tmp_path: Path) -> None:
    config = load_config(
        {"QUIRE_INSTANCE_PATH": str(tmp_path), "PORT": "8000"}, {"PORT": 9000, "TESTING": True}
    )
    assert config["PORT"] == 9000
    assert config["TESTING"] is True


def test_create_app_stops_with_one_line(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        create_app({"QUIRE_INSTANCE_PATH": str(tmp_path), "PORT": "x"})
    assert str(raised.value) == "quire: configuration error: PORT: must be a whole number, not 'x'"


def test_hypercorn_start_up_failure_is_one_clear_line(tmp_path: Path) -> None:
    """What an operator sees when the factory is served with a bad setting."""
    env = {**os.environ, "QUIRE_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "mysql://x/y"}
    result = subprocess.run(
        [sys.executable, "-c", "from web import create_app; create_app()"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "quire: configuration error: DATABASE_URL: unsupported database 'mysql' "
        "(use SQLite or PostgreSQL)"
    ]


@pytest.mark.parametrize(
    ("workers", "size", "overflow"),
    # Each worker's share holds the content clock's own connection too.
    [("1", 10, 9), ("2", 5, 4), ("4", 2, 2), ("16", 2, 0)],
)
def test_the_pool_shares_twenty_connections_among_the_workers(
    tmp_path: Path, workers: str, size: int, overflow: int
) -> None:
    pool = load_config({"QUIRE_INSTANCE_PATH": str(tmp_path), "WEB_CONCURRENCY": workers})[
        "DATABASE_POOL"
    ]
    assert (pool.size, pool.overflow) == (size, overflow)
    assert pool.timeout == 10
    assert pool.statement_timeout == 30


def test_pool_settings_override_the_defaults(tmp_path: Path) -> None:
    pool = load_config(
        {
            "QUIRE_INSTANCE_PATH": str(tmp_path),
            "QUIRE_DB_POOL_SIZE": "7",
            "QUIRE_DB_MAX_OVERFLOW": "0",
            "QUIRE_DB_POOL_TIMEOUT": "3",
            "QUIRE_DB_STATEMENT_TIMEOUT": "0",
        }
    )["DATABASE_POOL"]
    assert (pool.size, pool.overflow, pool.timeout, pool.statement_timeout) == (7, 0, 3, 0)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"QUIRE_DB_POOL_SIZE": "1"}, "QUIRE_DB_POOL_SIZE: must be between 2 and 500"),
        ({"QUIRE_DB_MAX_OVERFLOW": "-1"}, "QUIRE_DB_MAX_OVERFLOW: must be between 0 and 500"),
        ({"WEB_CONCURRENCY": "many"}, "WEB_CONCURRENCY: must be a whole number"),
        (
            {"DATABASE_URL": "postgres://u@db.example/blog?sslmode=always"},
            "DATABASE_URL: sslmode must be one of disable, allow, prefer, require",
        ),
    ],
)
def test_bad_pool_settings_name_the_setting(tmp_path: Path, environ: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config({"QUIRE_INSTANCE_PATH": str(tmp_path), **environ})


def test_a_paas_url_keeps_its_sslmode(tmp_path: Path) -> None:
    config = load_config(
        {
            "QUIRE_INSTANCE_PATH": str(tmp_path),
            "DATABASE_URL": "postgres://u:p@db.example:5432/blog?sslmode=require",
        }
    )
    assert config["DATABASE_URL"] == "postgresql+asyncpg://u:p@db.example:5432/blog?sslmode=require"
