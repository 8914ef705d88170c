"""`quire serve`: Quire under hypercorn, several worker processes, graceful on SIGTERM.

hypercorn's own `--workers` mode is not graceful: when the first worker has drained,
the parent terminates the others mid-request, and a SIGTERM sent to every process (as
a PaaS or systemd does) kills the workers outright. Its workers also learn of shutdown
only after the graceful wait, so an open event stream holds them for all of it.

So the parent here only holds the listening sockets and minds its workers: it starts
them (and starts another when one dies), and on SIGTERM or SIGINT passes SIGTERM on and
waits for each to finish. Each worker is a plain `hypercorn.asyncio.serve` on the
inherited sockets whose shutdown begins by ending its event streams (browsers reconnect
to a live process), then stops accepting, lets requests in flight finish within the
graceful timeout, and finally closes its database pool.

It minds the outbox's process the same way: the app started but serving nothing,
niced, sending what the outbox holds (mails, Webmentions, fediverse activities).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

from web import streams

# Named, not __name__: workers run this module as __main__.
log = logging.getLogger("cli.serve")

# A worker that dies this soon after starting, this many times in a row, is not going to
# get better by being started again: the server stops and says so.
EARLY_DEATH_SECONDS = 10.0
EARLY_DEATHS_ALLOWED = 3
# On top of the graceful timeout, for the worker's own shutdown (closing its pool).
SHUTDOWN_MARGIN_SECONDS = 5.0
# How a worker is started: this module, with the app factory and the sockets' descriptors.
WORKER = [sys.executable, "-m", "cli.serve"]
# The outbox's own process (mails, Webmentions, fediverse deliveries): this module, with
# this flag and the factory. Niced, so that when the CPU is short, readers' pages come
# first and a post to 10,000 followers simply takes longer.
OUTBOX_FLAG = "--outbox"
OUTBOX_NICENESS = 10
FACTORY = "web:create_app"
# glibc gives each thread that allocates an arena of its own, up to eight per core, and
# keeps what is freed there. aiosqlite runs a thread per connection, so a worker's peak
# memory grows with every connection that ever ran a big query: at 100,000 posts, 130 MB
# after a minute of searches, 120 MB with two arenas. Where the operator set it, theirs.
MALLOC_ARENAS = "2"


def server_config(settings: Mapping[str, Any], binds: list[str]) -> Config:
    """hypercorn's settings for one worker, from Quire's."""
    config = Config()
    config.bind = binds
    config.graceful_timeout = settings["GRACEFUL_TIMEOUT"]
    # Counted from the connection's first byte until a whole request has arrived, so
    # it also ends a client that sends its headers a byte at a time.
    config.keep_alive_timeout = settings["KEEP_ALIVE_TIMEOUT"]
    config.h11_max_incomplete_size = settings["MAX_HEADER_BYTES"]
    config.h2_max_header_list_size = settings["MAX_HEADER_BYTES"]
    # No read_timeout: it would also cut event streams and slow uploads' answers.
    config.accesslog = None  # web/logs writes the access lines, with request ids
    return config


def supervise(app: Quart, host: str, port: int, workers: int, factory: str = FACTORY) -> int:
    """Run `workers` worker processes on host:port until SIGTERM or SIGINT; the exit code.

    Each worker serves the app that `factory` ("module:function") builds; the benchmark
    serves its "Hello, World!" ceiling this way, under the very same server.
    """
    settings = app.config
    sockets = _listening_sockets(host, port, workers)
    stopping: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda number, _frame: stopping.append(number))
        for signum in (signal.SIGTERM, signal.SIGINT)
    }

    # The outbox runs in a process of its own rather than in every worker.
    outbox = bool(settings.get("OUTBOX_WORKER"))

    def start(index: int) -> tuple[subprocess.Popen[bytes], float]:
        env = {"MALLOC_ARENA_MAX": MALLOC_ARENAS, **os.environ}
        if index == workers:
            command = [*WORKER, OUTBOX_FLAG, factory]
            return subprocess.Popen(command, env=env), time.monotonic()  # noqa: S603
        fds = [sock.fileno() for sock in sockets[index]]
        command = [*WORKER, factory, *map(str, fds)]
        if outbox:
            env["QUIRE_OUTBOX_WORKER"] = "off"
        return subprocess.Popen(command, pass_fds=fds, env=env), time.monotonic()  # noqa: S603

    log.info("serving on http://%s:%d with %d worker(s)", host, port, workers)
    children = [start(index) for index in range(workers + outbox)]
    early_deaths = 0
    code = 0
    while not stopping:
        time.sleep(0.2)
        for index, (child, started) in enumerate(children):
            if stopping or child.poll() is None:
                continue
            early_deaths = (
                early_deaths + 1 if time.monotonic() - started < EARLY_DEATH_SECONDS else 0
            )
            if early_deaths >= EARLY_DEATHS_ALLOWED:
                log.error("workers keep dying as they start; stopping (see the errors above)")
                stopping.append(0)
                code = 1
                break
            log.error("worker %d exited with %s; starting another", child.pid, child.returncode)
            children[index] = start(index)
    # Our copies first: a listening socket stays open (and the kernel goes on queueing
    # connections that no one will accept) until every process holding it has closed it.
    # Once the workers close theirs, a new connection is refused at once, and a router
    # tries another instance, instead of hanging until the drain ends.
    for sock in (sock for owned in sockets for sock in owned):
        sock.close()
    _stop([child for child, _ in children], settings["GRACEFUL_TIMEOUT"] + SHUTDOWN_MARGIN_SECONDS)
    for signum, handler in previous.items():
        signal.signal(signum, handler)
    return code


def _listening_sockets(host: str, port: int, workers: int) -> list[list[socket.socket]]:
    """Listening sockets for each worker, all on the same address through SO_REUSEPORT.

    With one socket shared by all, whichever worker wakes first accepts, and a load of
    keep-alive connections can pile onto one worker while the others idle. With a
    socket each, the kernel spreads new connections evenly over them. A worker that is
    replaced takes over its predecessor's sockets, with the connections waiting there.
    """
    sets: list[list[socket.socket]] = []
    for _ in range(workers):
        listening = Config()
        listening.bind = [f"{host}:{port}"]
        listening.workers = workers  # hypercorn sets SO_REUSEPORT when there are several
        sockets = listening.create_sockets().insecure_sockets
        port = port or sockets[0].getsockname()[1]  # port 0: the others join the first's
        for sock in sockets:
            sock.set_inheritable(True)
            # Listening from the start: a socket only bound would make the next bind's
            # listen() fail with "address in use", and connections queue while a worker starts.
            sock.listen(listening.backlog)
        sets.append(sockets)
    return sets


def _stop(children: list[subprocess.Popen[bytes]], patience: float) -> None:
    """SIGTERM to each worker, then wait for all; any still running after `patience`
    seconds is killed."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + patience
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.error("worker %d did not stop in %.0f s; killing it", child.pid, patience)
            child.kill()
            child.wait()


async def _serve_worker(app: Quart, config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async def shutdown_begins() -> None:
        await stop.wait()
        log.info("worker %d shutting down: ending event streams, finishing requests", os.getpid())
        # Before the graceful wait, or a stream (which never ends by itself) holds it all.
        await streams.end_streams(app)

    await serve(app, config, shutdown_trigger=shutdown_begins)


def outbox_process(factory: str) -> None:
    """The outbox's process: the app started (its outbox worker runs while it is up),
    serving nothing, until SIGTERM or SIGINT; then a batch in flight is cut short and
    its rows are taken up again when their lease ends."""
    os.nice(OUTBOX_NICENESS)
    module, _, name = factory.partition(":")
    app = getattr(importlib.import_module(module), name)()
    asyncio.run(_run_outbox(app))


async def _run_outbox(app: Quart) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await app.startup()
    try:
        log.info("outbox process %d sending", os.getpid())
        await stop.wait()
    finally:
        await app.shutdown()


def worker(factory: str, fds: list[int]) -> None:
    """One worker process: the app, served on the sockets its parent handed down."""
    module, _, name = factory.partition(":")
    app = getattr(importlib.import_module(module), name)()
    config = server_config(app.config, [f"fd://{fd}" for fd in fds])
    asyncio.run(_serve_worker(app, config))


if __name__ == "__main__":
    if sys.argv[1] == OUTBOX_FLAG:
        outbox_process(sys.argv[2])
    else:
        worker(sys.argv[1], [int(fd) for fd in sys.argv[2:]])
