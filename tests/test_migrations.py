"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import text

from cli.commands import main
from components import migrations
from components.db import make_engine
from components.migrations import MIGRATIONS_DIR
from components.models import Base, is_modelled

from .conftest import PG_URL

MIGRATION_SCHEMA = "quire_migrations"


VERSIONS = MIGRATIONS_DIR / "versions"


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
        assert await migrations.pending(engine) == [
            "0001",
            "0002",
            "0003",
            "0004",
            "0005",
            "0006",
            "0007",
            "0008",
            "0009",
            "0010",
            "0011",
            "0012",
            "0013",
            "0014",
            "0015",
            "0016",
            "0017",
            "0018",
            "0019",
            "0020",
            "0021",
            "0022",
        ]
        await migrations.upgrade(engine)
        assert await migrations.pending(engine) == []
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync, opts={"compare_type": True, "include_object": is_modelled}
                    ),
                    Base.metadata,
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
    numbers = sorted(path.name.split("_")[1] for path in VERSIONS.glob("*.py"))
    assert f"applied {len(numbers)} migration(s): {', '.join(numbers)}" in first.output
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


async def test_reading_migration_fills_existing_posts_and_indexes_them(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await migrations.upgrade(engine, "0001")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO posts (id, slug, title, description, body, body_html, excerpt,"
                    " reading_minutes, status, published_at, created_at, updated_at,"
                    " comments_enabled, share_enabled) VALUES (1, 'old', 'Old post', '',"
                    " :body, '', '', 1, 'published', '2024-01-01 00:00:00',"
                    " '2024-01-01 00:00:00', '2024-01-01 00:00:00', 0, 1)"
                ),
                {"body": "## One\n\n## Two\n\n### Three\n\nzebras everywhere"},
            )
            await connection.execute(text("INSERT INTO tags VALUES (1, 'Fauna', 'fauna')"))
            await connection.execute(text("INSERT INTO post_tags VALUES (1, 1)"))
        await migrations.upgrade(engine)
        async with engine.connect() as connection:
            toc, names = (await connection.execute(text("SELECT toc, tag_names FROM posts"))).one()
            found = await connection.scalar(
                text("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'zebra'")
            )
            by_tag = await connection.scalar(
                text("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'fauna'")
            )
        assert [entry["id"] for entry in json.loads(toc)] == ["one", "two", "three"]
        assert names == "Fauna"
        assert found == 1 and by_tag == 1
    finally:
        await engine.dispose()


async def test_a_migrated_sqlite_blog_keeps_its_search_index_current(tmp_path: Path) -> None:
    """The full-text triggers are there after every migration, as create_all makes them:
    a table copy (0013's) once dropped them, and new posts went unindexed."""
    migrated = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")
    modelled = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'modelled.db'}")
    triggers = text("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name")
    try:
        await migrations.upgrade(migrated)
        async with modelled.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
            wanted = (await connection.scalars(triggers)).all()
        async with migrated.begin() as connection:
            assert (await connection.scalars(triggers)).all() == wanted
            assert len(wanted) == 3
            await connection.execute(
                text(
                    "INSERT INTO posts (id, slug, title, description, body, body_html, excerpt,"
                    " reading_minutes, status, published_at, created_at, updated_at,"
                    " comments_enabled, share_enabled, version, last_editor, kind)"
                    " VALUES (1, 'new', 'New post', '', 'okapis', '', '', 1, 'published',"
                    " '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00',"
                    " 0, 1, 1, '', 'post')"
                )
            )
            found = await connection.scalar(
                text("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'okapi'")
            )
        assert found == 1
    finally:
        await migrated.dispose()
        await modelled.dispose()
