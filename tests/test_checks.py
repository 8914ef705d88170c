"""`quire check --deploy`: what is missing or unsafe, one line each, exit 1 on an error."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli import checks
from cli.commands import main
from components import site
from components.db import make_engine, make_sessionmaker
from components.diagrams import runner

STRONG_SECRET = secrets.token_urlsafe(48)


def run(tmp_path: Path, *args: str, **env: str) -> tuple[int, list[str]]:
    settings = {
        "QUIRE_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'quire.db'}",
        "SECRET_KEY": "",
        "QUIRE_ENV": "",
        "WEB_CONCURRENCY": "",
        **env,
    }
    result = CliRunner().invoke(main, ["check", *args], env=settings)
    return result.exit_code, result.output.splitlines()


def production(**env: str) -> dict[str, str]:
    return {
        "QUIRE_ENV": "production",
        "SECRET_KEY": STRONG_SECRET,
        "QUIRE_PROXY_HOPS": "1",
        "QUIRE_BASE_URL": "https://blog.example",
        **env,
    }


def test_development_settings_are_not_fit_to_deploy(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["db", "upgrade"], env=_env(tmp_path)).exit_code == 0
    status, lines = run(tmp_path, "--deploy")
    assert status == 1
    assert [line.split(":")[0] for line in lines[:-1]] == [
        "error    QUIRE_ENV",
        "error    SECRET_KEY",
        "error    QUIRE_BASE_URL",
        "warning  DATABASE_URL",
        "warning  QUIRE_PROXY_HOPS",
        "warning  QUIRE_LOG_FORMAT",
    ]
    assert "SQLite" in lines[3] and "PaaS" in lines[3]
    assert "https://blog.example" in lines[2]
    assert lines[-1] == "3 error(s), 3 warning(s)"
    # Without --deploy only what stops Quire from running counts: nothing here.
    assert run(tmp_path) == (0, ["no problems found"])


def test_a_base_url_saved_on_the_settings_page_is_enough(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    _, before = run(tmp_path, "--deploy")
    assert any(line.startswith("error    QUIRE_BASE_URL: not set") for line in before)

    async def save() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'quire.db'}")
        async with make_sessionmaker(engine)() as session:
            await site.save(session, {"base_url": "https://blog.example"})
            await session.commit()
        await engine.dispose()

    asyncio.run(save())
    _, after = run(tmp_path, "--deploy")
    assert not any("QUIRE_BASE_URL" in line for line in after), after


@pytest.mark.parametrize(
    "value",
    ["blog.example", "https://blog.example/blog", "ftp://blog.example", "https://blog.example?x=1"],
)
def test_a_base_url_that_is_not_an_origin_is_one_error_naming_it(
    tmp_path: Path, value: str
) -> None:
    status, lines = run(tmp_path, "--deploy", QUIRE_BASE_URL=value)
    assert status == 1
    assert len(lines) == 2 and lines[0].startswith("error    QUIRE_BASE_URL: must"), lines


def test_a_weak_secret_a_missing_database_and_no_moderation_are_named(tmp_path: Path) -> None:
    status, lines = run(
        tmp_path,
        "--deploy",
        **production(SECRET_KEY="ab" * 20, QUIRE_COMMENT_MODERATION="none"),
    )
    assert status == 1
    assert lines[0].startswith("error    SECRET_KEY: too easy to guess")
    assert any(line.startswith("warning  QUIRE_COMMENT_MODERATION: none") for line in lines)
    assert any("no database yet: run `quire db upgrade`" in line for line in lines)


def test_a_bad_setting_is_one_error_naming_it(tmp_path: Path) -> None:
    status, lines = run(tmp_path, "--deploy", QUIRE_DB_POOL_SIZE="lots")
    assert (status, lines) == (
        1,
        [
            "error    QUIRE_DB_POOL_SIZE: must be a whole number, not 'lots'",
            "1 error(s), 0 warning(s)",
        ],
    )


def test_missing_assets_are_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "PROJECT_ROOT", tmp_path)
    status, lines = run(tmp_path)
    assert status == 1
    assert "error    static/vendor/htmx.min.js: missing: run `npm ci`" in "\n".join(lines)


def test_an_unreachable_or_unencrypted_database_is_named(tmp_path: Path) -> None:
    status, lines = run(
        tmp_path, "--deploy", **production(DATABASE_URL="postgres://quire@127.0.0.1:9/blog")
    )
    assert status == 1
    assert any(
        line.startswith("error    DATABASE_URL: cannot reach the database") for line in lines
    )
    _, remote = run(
        tmp_path, "--deploy", **production(DATABASE_URL="postgres://quire@db.invalid:9/blog")
    )
    assert any("may be unencrypted: add ?sslmode=require" in line for line in remote)
    _, encrypted = run(
        tmp_path,
        "--deploy",
        **production(DATABASE_URL="postgres://quire@db.invalid:9/blog?sslmode=require"),
    )
    assert not any("unencrypted" in line for line in encrypted)


def test_a_production_postgres_deploy_passes(tmp_path: Path, pg_url: str) -> None:
    status, lines = run(tmp_path, "--deploy", **production(DATABASE_URL=pg_url))
    assert status == 0, lines
    assert not any(line.startswith("error") for line in lines)
    assert lines[-1].startswith("0 error(s)") or lines == ["no problems found"]


def test_pools_larger_than_the_databases_limit_are_an_error(tmp_path: Path, pg_url: str) -> None:
    status, lines = run(
        tmp_path,
        "--deploy",
        **production(
            DATABASE_URL=pg_url,
            WEB_CONCURRENCY="8",
            QUIRE_DB_POOL_SIZE="10",
            QUIRE_DB_MAX_OVERFLOW="10",
        ),
    )
    assert status == 1
    [pool] = [line for line in lines if line.startswith("error    QUIRE_DB_POOL_SIZE")]
    assert "8 worker(s) may open 168 connections, but the database allows" in pool


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "QUIRE_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'quire.db'}",
    }


def test_diagrams_without_their_renderer_are_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "NODE_MODULES", tmp_path)
    status, lines = run(tmp_path)
    assert status == 0
    assert (
        "warning  diagrams: the npm package beautiful-mermaid is not installed (run npm ci): "
        "diagrams show as code"
    ) in lines
