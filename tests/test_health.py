"""/healthz tells a platform whether this process can reach its database."""

from __future__ import annotations

from pathlib import Path

from web import create_app

from .conftest import app_config


async def test_health_reports_a_database_round_trip(client) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert isinstance(body["database_ms"], float)
    assert response.headers["Cache-Control"] == "no-store"


async def test_health_is_503_when_the_database_is_unreachable(backend, tmp_path: Path) -> None:
    unreachable = {
        "sqlite": f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/quire.db",
        # Port 9 (discard) has no PostgreSQL server on this machine.
        "postgresql": "postgresql+asyncpg://postgres@127.0.0.1:9/test",
    }[backend]
    app = create_app(app_config(unreachable, tmp_path / "instance"))
    async with app.test_app() as test_app:
        response = await test_app.test_client().get("/healthz")
    assert response.status_code == 503
    assert (await response.get_json()) == {"status": "error", "database": "unreachable"}
