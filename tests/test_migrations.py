"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import text

from components import migrations
from components.db import make_engine
from components.models import Base
from web.cli import main

from .conftest import PG_URL

MIGRATION_SCHEMA = "quire_migrations"


async def test_migrated_schema_matches_the_models(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")
    else:
        # A schema of its own, so the migrations start from nothing.
        setup = make_engine(PG_URL)
        async with setup.begin() as connection:
            await connection.execute(text(f"DROP SCHEMA IF EXISTS {MIGRATION_SCHEMA} CASCADE"))
            await connection.execute(text(f"CREATE SCHEMA {MIGRATION_SCHEMA}"))
        await setup.dispose()
        engine = make_engine(
            PG_URL, connect_args={"server_settings": {"search_path": MIGRATION_SCHEMA}}
        )
    try:
        assert await migrations.pending(engine) == ["0001"]
        await migrations.upgrade(engine)
        assert await migrations.pending(engine) == []
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
                )
            )
        assert differences == []
    finally:
        await engine.dispose()


def test_cli_upgrades_then_loads_demo_once(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "QUIRE_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    runner = CliRunner()

    early = runner.invoke(main, ["demo"], env=env)
    assert early.exit_code == 1
    assert "run `quire db upgrade`" in early.output

    first = runner.invoke(main, ["db", "upgrade"], env=env)
    assert first.exit_code == 0, first.output
    assert "applied 1 migration(s): 0001" in first.output
    again = runner.invoke(main, ["db", "upgrade"], env=env)
    assert "database is up to date" in again.output

    loaded = runner.invoke(main, ["demo"], env=env)
    assert loaded.exit_code == 0 and "loaded 4 demo posts" in loaded.output
    skipped = runner.invoke(main, ["demo"], env=env)
    assert skipped.exit_code == 0
    assert "already has 4 post(s)" in skipped.output


def test_cli_reports_bad_settings_in_one_line(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "ftp://nowhere", "QUIRE_INSTANCE_PATH": str(tmp_path)}
    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: configuration error: DATABASE_URL: unsupported database 'ftp' "
        "(use SQLite or PostgreSQL)"
    )
