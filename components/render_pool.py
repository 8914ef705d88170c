"""Markdown rendered in a worker process with a time and a memory limit.

A thread could not be stopped: a lexer's regular expression that backtracks for ever, a
formula that recurses, a diagram, or a text built to use all memory would hold a thread
and the worker's memory until the process died. Here the render runs in a process of
its own (pebble's pool, which stops a task's process when its time is up and starts a
new one), with RENDER_SECONDS to finish and RENDER_MEMORY of data. A render that passes
either limit is refused with a message the writer can act on; nothing is stored.

Each server process starts its pool on the first render, with one worker: the server's
processes already use the cores, and one render at a time per process keeps the memory
each may take to one budget. `quire render`, which has the machine to itself, asks for
one worker per core (`use_workers`).
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import resource
from collections.abc import Mapping
from concurrent.futures import CancelledError
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from pebble import ProcessExpired, ProcessPool

from components import markdown
from components.diagrams import runner

# Above the diagrams' own limit, which they share with the Markdown around them.
RENDER_SECONDS = runner.BATCH_SECONDS + 5.0
RENDER_MEMORY = 768 * 1024 * 1024
# A worker is replaced after this many renders, so that no slow growth adds up.
_TASKS_PER_WORKER = 500

_pool: ProcessPool | None = None
_workers = 1


class RenderRefused(ValueError):
    """The text could not be rendered within the limits; says why, for the writer."""


async def render(
    body: str, pictures: Mapping[str, markdown.Picture] | None = None
) -> markdown.Rendered:
    """markdown.render(body, pictures), in the worker process, within the limits."""
    future = _worker_pool().schedule(
        markdown.render, args=(body, dict(pictures or {})), timeout=RENDER_SECONDS
    )
    try:
        return await asyncio.wrap_future(future)
    except (FutureTimeout, TimeoutError):
        raise RenderRefused(
            f"This text took longer than {RENDER_SECONDS:g} seconds to render. A very long "
            "code block or a deeply nested list is the usual cause."
        ) from None
    except markdown.TooDeep as deep:
        raise RenderRefused(str(deep)) from None
    except MemoryError:
        raise RenderRefused(
            f"Rendering this text needed more than {RENDER_MEMORY // 2**20} MB. Split it "
            "into shorter posts, or shorten its largest block."
        ) from None
    except RecursionError:
        raise RenderRefused(
            "This text is nested too deeply to render (lists or quotes inside one another)."
        ) from None
    except (ProcessExpired, CancelledError) as stopped:
        raise RenderRefused(f"The renderer stopped on this text ({stopped}).") from None
    except BrokenProcessPool:
        # The worker could not start: the next render starts a new pool.
        stop()
        raise RenderRefused("The renderer could not start. Try again.") from None
    finally:
        # The caller gave up (the request ended): its render need not go on.
        if not future.done():
            future.cancel()


def use_workers(count: int) -> None:
    """Render in `count` processes at once from now on (at least one)."""
    global _workers
    count = max(1, count)
    if count != _workers:
        stop()  # the next render starts a pool of the new size
        _workers = count


def _worker_pool() -> ProcessPool:
    global _pool
    if _pool is None or not _pool.active:
        # spawn, not fork: a fork of a server process would copy its event loop and
        # connections into the worker.
        _pool = ProcessPool(
            max_workers=_workers,
            max_tasks=_TASKS_PER_WORKER,
            initializer=_limit_memory,
            context=multiprocessing.get_context("spawn"),
        )
    return _pool


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_DATA, (RENDER_MEMORY, RENDER_MEMORY))


def stop() -> None:
    """Stop the worker (at exit, and in tests that want a fresh one)."""
    global _pool
    if _pool is not None:
        _pool.stop()
        _pool.join(timeout=10)
        _pool = None


# Registered once: at exit it stops whichever pool is running then.
atexit.register(stop)
