"""`quire serve`: workers replaced when they die, slow and oversized requests refused."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from quart import Quart

from cli import serve
from tests.conftest import DEADLINE_SECONDS, fresh_database, start_quire, stop_quire
from web import create_app
from web.headers import CONTENT_SECURITY_POLICY

# Short, so that slow clients are cut off in seconds.
KEEP_ALIVE_SECONDS = 2
BODY_SECONDS = 2


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.Popen, str]]:
    """Two workers with short timeouts."""
    folder, database_url = fresh_database("sqlite", tmp_path_factory, "serve")
    process, url = start_quire(
        database_url,
        folder,
        "--workers",
        "2",
        QUIRE_KEEP_ALIVE_TIMEOUT=str(KEEP_ALIVE_SECONDS),
        QUIRE_BODY_TIMEOUT=str(BODY_SECONDS),
    )
    yield process, url
    stop_quire(process)


def children_of(process: subprocess.Popen) -> set[int]:
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    return {int(pid) for pid in children}


def is_outbox(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return False  # gone meanwhile
    return serve.OUTBOX_FLAG.encode() in command


def workers_of(process: subprocess.Popen) -> set[int]:
    """The processes that serve requests (not the outbox's)."""
    return {pid for pid in children_of(process) if not is_outbox(pid)}


def outboxes_of(process: subprocess.Popen) -> set[int]:
    return {pid for pid in children_of(process) if is_outbox(pid)}


def environ(pid: int) -> list[bytes]:
    """A process's environment, as NAME=value entries."""
    return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=DEADLINE_SECONDS)


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_worker_that_dies_is_replaced(server: tuple[subprocess.Popen, str]) -> None:
    process, url = server
    before = workers_of(process)
    assert len(before) == 2
    victim = min(before)
    subprocess.run(["kill", "-KILL", str(victim)], check=True)
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        now = workers_of(process)
        if len(now) == 2 and victim not in now:
            break
        assert time.monotonic() < deadline, f"no new worker: {now}"
        time.sleep(0.2)
    # The new worker answers on the socket it took over, and the other still does: asked
    # until both have answered (a worker under load may still be starting when it is
    # listed), the deadline only ending a hung test.
    seen: set[int] = set()
    while seen != now:
        seen |= set(answered_by(url))
        assert seen <= now, f"answered by a worker not listed: {seen - now}"
        assert time.monotonic() < deadline + DEADLINE_SECONDS, f"only {seen} answered"
    assert process.poll() is None


def test_the_outbox_sends_from_a_niced_process_of_its_own_replaced_when_it_dies(
    server: tuple[subprocess.Popen, str],
) -> None:
    """Readers first: when the CPU is short, a post to many followers waits, pages do not."""
    process, _ = server
    [outbox] = outboxes_of(process)
    workers = workers_of(process)
    for worker in workers:
        assert b"QUIRE_OUTBOX_WORKER=off" in environ(worker), "the workers leave it to the outbox"
        assert os.getpriority(os.PRIO_PROCESS, outbox) == min(
            19, os.getpriority(os.PRIO_PROCESS, worker) + serve.OUTBOX_NICENESS
        )
    subprocess.run(["kill", "-KILL", str(outbox)], check=True)
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not (outboxes_of(process) - {outbox}):
        assert time.monotonic() < deadline, "no new outbox process"
        time.sleep(0.2)
    assert workers_of(process) == workers, "the workers went on serving"
    assert process.poll() is None


def test_a_client_sending_headers_a_byte_at_a_time_is_cut_off(
    server: tuple[subprocess.Popen, str],
) -> None:
    _, url = server
    with connect(url) as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: quire\r\n")
        sock.settimeout(0.5)  # a byte every half second: never idle for the timeout
        while time.monotonic() - started < KEEP_ALIVE_SECONDS + DEADLINE_SECONDS:
            try:
                sock.sendall(b"X")
                if sock.recv(1024) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        # Cut off while still sending: the keep-alive timeout counts from the first byte,
        # not the last (a byte at a time would otherwise hold the connection for ever).
        assert time.monotonic() - started < KEEP_ALIVE_SECONDS + DEADLINE_SECONDS, "still open"


def test_a_body_that_does_not_arrive_in_time_is_a_408(
    server: tuple[subprocess.Popen, str],
) -> None:
    _, url = server
    with connect(url) as sock:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: quire\r\nSec-Fetch-Site: same-origin\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nq="
        )
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 408")


@pytest.mark.parametrize("size", [40_000, 100_000])
def test_oversized_headers_are_a_431(server: tuple[subprocess.Popen, str], size: int) -> None:
    _, url = server
    with connect(url) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: quire\r\nX-Big: " + b"a" * size + b"\r\n\r\n")
        answer = read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431")


async def test_a_431_is_an_error_page_with_the_security_headers(tmp_path: Path) -> None:
    app: Quart = create_app({"QUIRE_INSTANCE_PATH": str(tmp_path), "TESTING": True})
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.get("/", headers={"X-Big": "a" * 33_000})
        assert response.status_code == 431
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        text = await response.get_data(as_text=True)
        assert "headers are too large" in text and "at most 32,768" in text
        fine = await client.get("/healthz", headers={"X-Big": "a" * 30_000})
        assert fine.status_code == 200


def test_workers_that_keep_dying_as_they_start_stop_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve, "WORKER", [sys.executable, "-c", "raise SystemExit(3)"])
    app = create_app({"QUIRE_INSTANCE_PATH": str(tmp_path)})
    # Only to end a supervisor that never gives up: its SIGTERM handler stops it, with 0.
    hung = threading.Timer(DEADLINE_SECONDS, os.kill, (os.getpid(), signal.SIGTERM))
    hung.start()
    try:
        assert serve.supervise(app, "127.0.0.1", 0, 2) == 1
    finally:
        hung.cancel()


def ss(*filters: str) -> list[str]:
    """Lines of `ss -tnp` for these filters, one per socket."""
    listed = subprocess.run(
        ["ss", "-tnpH", *filters], capture_output=True, text=True, check=True
    ).stdout
    return listed.splitlines()


def answered_by(url: str, connections: int = 32) -> Counter[int]:
    """How many of `connections` new connections, each answered 200 for /healthz, each
    worker held: the server's end of each, by its owner's pid. The kernel spreads new
    connections at random, so all of two workers get some of 32 (but for 1 time in 2**31)."""
    port = url.rsplit(":", 1)[1]
    sockets = [connect(url) for _ in range(connections)]
    try:
        for sock in sockets:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: quire\r\n\r\n")
        for sock in sockets:
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        connected = ss("state", "established", f"( sport = :{port} )")
    finally:
        for sock in sockets:
            sock.close()
    return Counter(int(pid) for line in connected for pid in re.findall(r"pid=(\d+)", line))


def test_each_worker_listens_on_a_socket_of_its_own(server: tuple[subprocess.Popen, str]) -> None:
    """SO_REUSEPORT: the kernel shares out new connections over the workers' sockets. With
    one socket shared by all, keep-alive connections can pile onto one worker."""
    process, url = server
    port = url.rsplit(":", 1)[1]
    workers = workers_of(process)
    listening = ss("state", "listening", f"( sport = :{port} )")
    owners = [
        {int(pid) for pid in re.findall(r"pid=(\d+)", line)} - {process.pid} for line in listening
    ]
    assert sorted(map(len, owners)) == [1, 1]
    assert set().union(*owners) == workers

    spread = answered_by(url, 32)
    assert set(spread) == workers
    assert sum(spread.values()) == 32


def test_workers_keep_two_malloc_arenas_unless_told_otherwise(
    server: tuple[subprocess.Popen, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """glibc's arenas per thread would hold freed memory in every aiosqlite thread."""
    process, _ = server
    assert all(b"MALLOC_ARENA_MAX=2" in environ(worker) for worker in workers_of(process))
    folder, database_url = fresh_database("sqlite", tmp_path_factory, "arenas")
    told, _ = start_quire(database_url, folder, "--workers", "1", MALLOC_ARENA_MAX="4")
    try:
        assert all(b"MALLOC_ARENA_MAX=4" in environ(worker) for worker in workers_of(told))
    finally:
        stop_quire(told)
