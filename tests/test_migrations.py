"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cli.commands import main
from components import markdown, migrations
from components.db import make_engine
from components.migrations import MIGRATIONS_DIR
from components.models import Base, is_modelled
from components.search import search

from .conftest import PG_URL

MIGRATION_SCHEMA = "quire_migrations"


VERSIONS = MIGRATIONS_DIR / "versions"


async def empty_database(backend: str, tmp_path: Path) -> AsyncEngine:
    """An engine on a database with nothing in it, for the migrations to start from."""
    if backend == "sqlite":
        return make_engine(f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}")
    # A schema of its own, so the migrations start from nothing.
    setup = make_engine(PG_URL)
    async with setup.begin() as connection:
        await connection.execute(text(f"DROP SCHEMA IF EXISTS {MIGRATION_SCHEMA} CASCADE"))
        await connection.execute(text(f"CREATE SCHEMA {MIGRATION_SCHEMA}"))
    await setup.dispose()
    return make_engine(PG_URL, connect_args={"server_settings": {"search_path": MIGRATION_SCHEMA}})


async def test_migrated_schema_matches_the_models(backend: str, tmp_path: Path) -> None:
    engine = await empty_database(backend, tmp_path)
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
            "0023",
            "0024",
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
                    " comments_enabled, share_enabled, version, last_editor, kind, body_text)"
                    " VALUES (1, 'new', 'New post', '', 'okapis', '', '', 1, 'published',"
                    " '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00',"
                    " 0, 1, 1, '', 'post', 'okapis')"
                )
            )
            found = await connection.scalar(
                text("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'okapi'")
            )
        assert found == 1
    finally:
        await migrated.dispose()
        await modelled.dispose()


# How each database holds its full-text index: SQLite's table and triggers, PostgreSQL's
# generated column (its expression as the server prints it back) and the index on it.
INDEX_DEFINITION = {
    "sqlite": "SELECT name, sql FROM sqlite_master WHERE name LIKE 'posts_fts%' ORDER BY name",
    "postgresql": (
        "SELECT attname, pg_get_expr(adbin, adrelid) FROM pg_attrdef JOIN pg_attribute"
        " ON attrelid = adrelid AND attnum = adnum"
        " WHERE adrelid = 'posts'::regclass AND attname = 'search_vector'"
        " UNION ALL SELECT indexname, indexdef FROM pg_indexes"
        " WHERE schemaname = current_schema() AND indexname = 'ix_posts_search_vector'"
    ),
}
MODELLED_SCHEMA = "quire_modelled"


async def test_the_migrated_search_index_is_the_one_the_models_make(
    backend: str, tmp_path: Path
) -> None:
    migrated = await empty_database(backend, tmp_path)
    if backend == "sqlite":
        modelled = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'modelled.db'}")
    else:
        async with migrated.begin() as connection:
            await connection.execute(text(f"DROP SCHEMA IF EXISTS {MODELLED_SCHEMA} CASCADE"))
            await connection.execute(text(f"CREATE SCHEMA {MODELLED_SCHEMA}"))
        modelled = make_engine(
            PG_URL, connect_args={"server_settings": {"search_path": MODELLED_SCHEMA}}
        )
    try:
        await migrations.upgrade(migrated)
        async with modelled.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
            wanted = (await connection.execute(text(INDEX_DEFINITION[backend]))).all()
        async with migrated.connect() as connection:
            made = (await connection.execute(text(INDEX_DEFINITION[backend]))).all()
        if backend == "postgresql":
            made = [(name, sql.replace(MIGRATION_SCHEMA, MODELLED_SCHEMA)) for name, sql in made]
        assert made == wanted
        # SQLite: the table, its four shadow tables and three triggers; PostgreSQL: two.
        assert len(made) == (8 if backend == "sqlite" else 2)
        assert all(
            "body_text" in sql for name, sql in made if name in ("posts_fts", "search_vector")
        )
    finally:
        await modelled.dispose()
        if backend == "postgresql":
            async with migrated.begin() as connection:
                await connection.execute(text(f"DROP SCHEMA {MODELLED_SCHEMA} CASCADE"))
        await migrated.dispose()


POST_AT_0021 = (
    "INSERT INTO posts (id, slug, title, description, body, body_html, excerpt,"
    " reading_minutes, status, published_at, created_at, updated_at, comments_enabled,"
    " share_enabled, version, last_editor, kind) VALUES (:id, :slug, :title, '', :body,"
    " :html, '', 1, 'published', '2024-01-01 00:00:00', '2024-01-01 00:00:00',"
    " '2024-01-01 00:00:00', false, true, 1, '', 'post')"
)
AIRSHIPS = """\
## Hangars

The *zeppelin* in its [hangar](https://docs.example/quuxguide).[^1]

![a zeppelin, moored](https://cdn.example/hangarphoto.png)

```haskell
main = putStrLn "zeppelin"
```

[^1]: At Friedrichshafen.
"""


async def test_the_search_text_migration_gives_existing_posts_their_plain_text(
    backend: str, tmp_path: Path
) -> None:
    engine = await empty_database(backend, tmp_path)
    try:
        await migrations.upgrade(engine, "0021")
        async with engine.begin() as connection:
            rendered = markdown.render(AIRSHIPS).html
            await connection.execute(
                text(POST_AT_0021),
                [
                    {
                        "id": 1,
                        "slug": "airships",
                        "title": "Airships",
                        "body": AIRSHIPS,
                        "html": rendered,
                    },
                    # Never rendered: its Markdown stands in until `quire render`.
                    {"id": 2, "slug": "wild", "title": "Wild", "body": "Okapis *wild*", "html": ""},
                ]
                # More posts than one batch of the migration holds.
                + [
                    {
                        "id": 10 + n,
                        "slug": f"filler-{n}",
                        "title": f"Filler {n}",
                        "body": "",
                        "html": f"<p>filler <em>{n}</em></p>",
                    }
                    for n in range(250)
                ],
            )
        await migrations.upgrade(engine)
        async with engine.connect() as connection:
            texts = dict((await connection.execute(text("SELECT id, body_text FROM posts"))).all())
        assert texts[1] == (
            "Hangars The zeppelin in its hangar. a zeppelin, moored "
            'main = putStrLn "zeppelin" At Friedrichshafen.'
        )
        assert texts[2] == "Okapis *wild*"
        assert all(texts[10 + n] == f"filler {n}" for n in range(250))
        async with AsyncSession(engine) as session:
            (hit,) = (await search(session, "zeppelin")).hits
            assert "<mark>zeppelin</mark>" in hit.snippet
            assert not any(mark in hit.snippet for mark in ("##", "*", "](", "![", "```", "[^"))
            assert [hit.post.title for hit in (await search(session, "okapis")).hits] == ["Wild"]
            for syntax in ("hangarphoto", "quuxguide", "haskell"):
                assert (await search(session, syntax)).hits == [], syntax
            assert len((await search(session, "filler", per_page=100)).hits) == 100
    finally:
        await engine.dispose()
