"""Logs a platform can collect: one line per request, and errors with the request's id.

Every request gets an id: the one its router sent in `X-Request-ID` (when it looks like
one), or a new one. It goes back to the client in `X-Request-ID` and onto every log line
written while the request runs, so an error's traceback can be found from the access
line that reported its 500, and from what a user quotes off the error page.

Lines are JSON in production (one object per line, for a log drain) and plain text in
development. Query strings are never logged: they may hold a token.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from contextvars import ContextVar
from typing import Any

from hypercorn.typing import (
    ASGIFramework,
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPScope,
    Scope,
)
from quart import Quart

HANDLER_NAME = "quire"
# Quart's app logger is named after the package ("web"); components and cli log under theirs.
LOGGERS = ("web", "components", "cli")
ACCESS = logging.getLogger("web.access")
# What a router's request id may look like; anything else is replaced, not echoed.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

request_id: ContextVar[str] = ContextVar("request_id", default="")


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request's id, any
    fields passed as `extra`, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if getattr(record, "request_id", ""):
            line["request_id"] = record.request_id  # type: ignore[attr-defined]
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", "")
        record.context = f" [{rid}]" if rid else ""
        return super().format(record)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure(log_format: str, level: str, stream: Any = None) -> logging.Handler:
    """Send Quire's loggers to `stream` (stderr) in `log_format`; calling it again (one
    app per test) replaces the handler rather than adding a second."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(JSONFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if h.get_name() != HANDLER_NAME]
        logger.addHandler(handler)
        logger.setLevel(level)
    return handler


def init_app(app: Quart) -> None:
    configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.asgi_app = RequestLog(app.asgi_app)  # type: ignore[method-assign]


class RequestLog:
    """ASGI middleware: gives each request its id and writes its access line when the
    response is done (for an event stream, when the stream ends)."""

    def __init__(self, app: ASGIFramework) -> None:
        self.app = app

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if given and REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        sent = {"status": 0, "bytes": 0}

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())],
                }
            elif message["type"] == "http.response.body":
                sent["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            fields = {
                "method": scope["method"],
                "path": scope["path"],
                # 0: the client went away (or the server failed) before an answer.
                "status": sent["status"],
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "bytes": sent["bytes"],
                "client": (scope.get("client") or ("-",))[0],
            }
            ACCESS.info(
                "%(method)s %(path)s %(status)s %(duration_ms)sms", fields, extra={"fields": fields}
            )
            request_id.reset(token)


def _header(scope: HTTPScope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1").strip()
    return ""
