"""One access line per request with its id, sent back as X-Request-ID; errors logged
once, with their traceback and the same id."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from quart import Quart

from tests.conftest import TEST_SECRET, app_config
from web import create_app, logs


@pytest.fixture
def lines() -> Any:
    """What Quire logs during the test, as parsed JSON lines."""
    buffer = io.StringIO()

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines()]

    yield buffer, read
    logs.configure("text", "INFO")


@pytest.fixture
async def logged_client(database_url: str, tmp_path: Path, lines: Any) -> Any:
    # Not TESTING: errors go through the app's own handlers, as in production.
    app = create_app({**app_config(database_url, tmp_path / "instance"), "TESTING": False})

    @app.get("/boom")
    async def boom() -> str:
        logging.getLogger("components.example").warning("about to fail")
        raise RuntimeError("kaboom")

    logs.configure("json", "INFO", stream=lines[0])
    async with app.test_app() as test_app:
        yield test_app.test_client()


async def test_every_response_carries_a_request_id_and_one_access_line(
    logged_client: Any, lines: Any
) -> None:
    first = await logged_client.get("/healthz")
    second = await logged_client.get("/feed.xml?token=secret")
    ids = [first.headers["X-Request-ID"], second.headers["X-Request-ID"]]
    assert all(len(rid) == 32 for rid in ids) and ids[0] != ids[1]

    access = [line for line in lines[1]() if line["logger"] == "web.access"]
    assert [(a["method"], a["path"], a["status"], a["request_id"]) for a in access] == [
        ("GET", "/healthz", 200, ids[0]),
        ("GET", "/feed.xml", 200, ids[1]),  # never the query string: it may hold a token
    ]
    for line in access:
        assert line["level"] == "info"
        assert line["duration_ms"] >= 0 and line["bytes"] > 0
        assert line["time"].endswith("Z")
    assert "secret" not in json.dumps(lines[1]())


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("router-7f3a.42", True),
        ("with space", False),
        ("x" * 129, False),
        ("<script>", False),
    ],
)
async def test_a_routers_request_id_is_kept_when_it_looks_like_one(
    logged_client: Any, given: str, kept: bool
) -> None:
    response = await logged_client.get("/healthz", headers={"X-Request-ID": given})
    assert (response.headers["X-Request-ID"] == given) is kept
    assert len(response.headers["X-Request-ID"]) <= 128


async def test_an_error_is_logged_once_with_its_traceback_and_request_id(
    logged_client: Any, lines: Any
) -> None:
    response = await logged_client.get("/boom", headers={"X-Request-ID": "req-1"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-1"
    logged = lines[1]()
    errors = [line for line in logged if line["level"] == "error"]
    assert len(errors) == 1
    assert errors[0]["request_id"] == "req-1"
    assert "RuntimeError: kaboom" in errors[0]["traceback"]
    warning = next(line for line in logged if line["level"] == "warning")
    assert warning["request_id"] == "req-1" and warning["logger"] == "components.example"
    access = [line for line in logged if line["logger"] == "web.access"]
    assert [(a["path"], a["status"], a["request_id"]) for a in access] == [("/boom", 500, "req-1")]


def test_development_logs_are_text_and_production_logs_json(tmp_path: Path) -> None:
    def handler(app: Quart) -> logging.Handler:
        [found] = [h for h in logging.getLogger("web").handlers if h.get_name() == "quire"]
        return found

    development = create_app({"QUIRE_INSTANCE_PATH": str(tmp_path)})
    assert isinstance(handler(development).formatter, logs.TextFormatter)
    production = create_app(
        {"QUIRE_INSTANCE_PATH": str(tmp_path), "QUIRE_ENV": "production", "SECRET_KEY": TEST_SECRET}
    )
    assert isinstance(handler(production).formatter, logs.JSONFormatter)
    assert production.config["LOG_LEVEL"] == "INFO"
    logs.configure("text", "INFO")


@pytest.mark.parametrize(("hops", "client"), [("0", "127.0.0.1"), ("1", "203.0.113.9")])
async def test_the_client_address_is_the_forwarded_one_only_behind_a_trusted_proxy(
    database_url: str, tmp_path: Path, lines: Any, hops: str, client: str
) -> None:
    app = create_app(app_config(database_url, tmp_path / "instance", QUIRE_PROXY_HOPS=hops))
    logs.configure("json", "INFO", stream=lines[0])
    async with app.test_app() as test_app:
        await test_app.test_client().get(
            "/healthz",
            headers={"X-Forwarded-For": "203.0.113.9"},
            scope_base={"client": ("127.0.0.1", 5000)},
        )
    [access] = [line for line in lines[1]() if line["logger"] == "web.access"]
    assert access["client"] == client
