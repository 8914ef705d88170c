"""A tiny web server on 127.0.0.1 for the fetch and Webmention tests: it answers each
path as a test sets it, and keeps the forms posted to it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


@dataclass
class Page:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html"})
    delay: float = 0.0


class Site:
    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.posted: list[tuple[str, dict[str, str]]] = []
        # What a POST to a path is answered (by default 202).
        self.answers: dict[str, Page] = {}
        self.port = 0
        self._arrived = threading.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for_posts(
        self, count: int, timeout: float = 120.0
    ) -> list[tuple[str, dict[str, str]]]:
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.posted) >= count, timeout)
        return self.posted


@contextmanager
def website() -> Iterator[Site]:
    site = Site()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = site.pages.get(self.path, Page(404, b"not here"))
            if page.delay:
                time.sleep(page.delay)
            self.send_response(page.status)
            for name, value in page.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            # The client may stop reading (a size limit under test).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(page.body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            with site._arrived:
                site.posted.append((self.path, form))
                site._arrived.notify_all()
            page = site.answers.get(self.path, Page(202, b"accepted"))
            self.send_response(page.status)
            self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as port:
        site.port = port
        yield site


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """`handler` answering on a free loopback port, in a thread: the port. Stopped, and
    its thread ended, on leaving."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
