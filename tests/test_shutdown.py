"""SIGTERM to `quire serve` with a request in flight: that request may finish, and a new
connection is refused at once (a router then tries another instance) rather than left
waiting in a queue no one reads until the drain ends."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.conftest import fresh_database, server_log, start_quire, stop_quire

# Only ends a hung test: the fixed server refuses within milliseconds of the log line.
HUNG_AFTER_SECONDS = 60.0


def host_port(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def wait_for_line(log: Path, text: str) -> None:
    """Until the server's log holds `text` (an event, not a time)."""
    deadline = time.monotonic() + HUNG_AFTER_SECONDS
    while text not in log.read_text():
        assert time.monotonic() < deadline, f"no {text!r} in {log.read_text()[-2000:]}"
        time.sleep(0.05)


def listening(port: int) -> bool:
    """Does any process still hold a listening socket on 127.0.0.1:`port`?"""
    wanted = f"0100007F:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted and fields[3] == "0A":  # 0A: LISTEN
            return True
    return False


def wait_until_closed(port: int) -> None:
    deadline = time.monotonic() + HUNG_AFTER_SECONDS
    while listening(port):
        assert time.monotonic() < deadline, "the port is still open, with a request draining"
        time.sleep(0.05)


def answer_or_refusal(url: str) -> str:
    """What a new connection gets: "refused", or the status line it was sent."""
    try:
        with socket.create_connection(host_port(url), timeout=HUNG_AFTER_SECONDS) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            first = sock.recv(1024)
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "hung"
    return first.split(b"\r\n", 1)[0].decode() if first else "closed"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_new_connections_are_refused_while_a_request_drains(
    tmp_path_factory: pytest.TempPathFactory, workers: str
) -> None:
    folder, database_url = fresh_database("sqlite", tmp_path_factory, "drain")
    # A long drain and body timeout, so that the request in flight is still there when
    # the new connection comes, on any machine.
    process, url = start_quire(
        database_url,
        folder,
        "--workers",
        workers,
        QUIRE_GRACEFUL_TIMEOUT="120",
        QUIRE_BODY_TIMEOUT="120",
    )
    log = server_log(folder, url)
    try:
        # In flight: a form whose body has not all arrived.
        slow = socket.create_connection(host_port(url), timeout=HUNG_AFTER_SECONDS)
        slow.sendall(
            b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-"
            b"urlencoded\r\nContent-Length: 1000\r\n\r\nemail="
        )
        process.terminate()
        wait_for_line(log, "shutting down")
        # The drain has begun, the slow request is still in it, and nothing listens any more.
        wait_until_closed(host_port(url)[1])
        assert process.poll() is None
        assert answer_or_refusal(url) == "refused"
        slow.close()
        assert process.wait(timeout=HUNG_AFTER_SECONDS) == 0
    finally:
        stop_quire(process)
