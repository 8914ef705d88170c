"""Drawing diagrams with scripts/diagrams.mjs under Node, in a child process with limits.

Blocking: this runs where the Markdown is rendered, in components/render_pool.py's
worker process, never on the event loop. One Node process draws all of a post's
diagrams. It gets DIAGRAM_SECONDS for each and DIAGRAM_MEMORY of data, reads only the
renderers' own files (Node's permission model), starts no process and inherits no
secret from the environment. A diagram that never finishes costs only itself: the
process is stopped, those drawn before it are kept, those after it are drawn again by a
new one.

Both renderers install from npm, as htmx does, so they are on a PaaS wherever the
Node buildpack ran `npm ci`; neither needs a browser.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import queue
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from components.settings import PROJECT_ROOT

DIAGRAM_SECONDS = 5.0
DIAGRAM_MEMORY = 256 * 1024 * 1024
MAX_SOURCE = 50_000
SCRIPT = PROJECT_ROOT / "scripts" / "diagrams.mjs"
NODE_MODULES = PROJECT_ROOT / "node_modules"
_CACHE_SIZE = 256
_CACHE_BYTES = 16_000_000
# What one drawing may weigh as the renderer writes it (scripts/diagrams.mjs refuses more).
MAX_SVG = 1_000_000
# All of one Node process's drawings together, start included: below the render's own
# limit (components/render_pool.py), so that Node is always stopped by us first.
BATCH_SECONDS = 8.0


@dataclass(frozen=True)
class Drawn:
    """One diagram's SVG as the renderer wrote it, or why there is none."""

    svg: str | None = None
    error: str | None = None
    # An error of the moment (too slow, no Node), not of the source: drawn again next time.
    passing: bool = False


# Drawn diagrams by (kind, source), so that the editor's preview, which renders the
# whole text again after each pause in typing, starts Node only for a changed diagram.
_drawn: OrderedDict[tuple[str, str], Drawn] = OrderedDict()
_cached_bytes = 0


def draw(diagrams: Sequence[tuple[str, str]]) -> list[Drawn]:
    """Each (kind, source) drawn, in order; kinds are "mermaid" and "dot". The same
    diagram twice in a post is drawn once."""
    results: dict[tuple[str, str], Drawn] = {}
    wanted: list[tuple[str, str]] = []
    for key in dict.fromkeys(diagrams):
        if len(key[1]) > MAX_SOURCE:
            results[key] = Drawn(error=f"longer than {MAX_SOURCE:,} characters")
        elif key in _drawn:
            _drawn.move_to_end(key)
            results[key] = _drawn[key]
        else:
            wanted.append(key)
    while wanted:
        done = _run(wanted)
        for key, drawn in zip(wanted, done, strict=False):
            results[key] = drawn
            if not drawn.passing:
                _remember(key, drawn)
        wanted = wanted[len(done) :]
    return [results[key] for key in diagrams]


def _remember(key: tuple[str, str], drawn: Drawn) -> None:
    """Kept for the next render, within _CACHE_BYTES of drawings, the oldest used dropped."""
    global _cached_bytes
    if key in _drawn:
        return
    _drawn[key] = drawn
    _cached_bytes += _size(key, drawn)
    while _drawn and (_cached_bytes > _CACHE_BYTES or len(_drawn) > _CACHE_SIZE):
        old_key, old = _drawn.popitem(last=False)
        _cached_bytes -= _size(old_key, old)


def _size(key: tuple[str, str], drawn: Drawn) -> int:
    return len(key[1]) + len(drawn.svg or drawn.error or "")


def _run(diagrams: list[tuple[str, str]]) -> list[Drawn]:
    """Draw what one Node process manages: at least one result, at most one per diagram."""
    node = shutil.which("node")
    if node is None:
        missing = Drawn(
            error="diagrams need Node.js, which this server does not have", passing=True
        )
        return [missing] * len(diagrams)
    request = json.dumps([{"kind": kind, "source": source} for kind, source in diagrams])
    with tempfile.TemporaryFile() as errors:
        # The command is ours; the writer's text reaches Node only on its stdin.
        process = subprocess.Popen(  # noqa: S603
            _command(node),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            cwd=SCRIPT.parent,
            env={"PATH": os.environ.get("PATH", ""), "NODE_ENV": "production"},
            preexec_fn=_limit_node,
            text=True,
        )
        try:
            done, late = _answers(process, request, len(diagrams))
        finally:
            process.kill()
            process.wait()
        if len(done) < len(diagrams):
            if late:
                message = f"took longer than {late} to draw"
            else:
                errors.seek(0)
                message = "the diagram renderer stopped: " + _last_line(
                    errors.read(64_000).decode(errors="replace")
                )
            done.append(Drawn(error=message, passing=True))
    return done


def _answers(
    process: subprocess.Popen[str], request: str, wanted: int
) -> tuple[list[Drawn], str | None]:
    """The drawings Node writes, one line each, until all are in, it stops, or one takes
    longer than DIAGRAM_SECONDS (the first counting Node's start) or all together longer
    than BATCH_SECONDS; and, when one is late, what it took longer than."""
    assert process.stdin is not None and process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    output = process.stdout

    def read() -> None:
        for line in output:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        process.stdin.write(request)
        process.stdin.close()
    except BrokenPipeError:
        pass  # it stopped before reading: its message is in stderr
    done: list[Drawn] = []
    ends = time.monotonic() + BATCH_SECONDS
    while len(done) < wanted:
        batch_left = ends - time.monotonic()
        late = (
            f"{DIAGRAM_SECONDS:g} seconds"
            if batch_left >= DIAGRAM_SECONDS
            else f"the {BATCH_SECONDS:g} seconds a post's diagrams have together"
        )
        try:
            line = lines.get(timeout=max(0.0, min(DIAGRAM_SECONDS, batch_left)))
        except queue.Empty:
            return done, late
        if line is None:
            return done, None
        if line.strip():
            done.append(_parsed(line))
    return done, None


def _parsed(line: str) -> Drawn:
    try:
        answer = json.loads(line)
    except ValueError:
        return Drawn(error="the diagram renderer wrote something unreadable")
    if isinstance(answer.get("svg"), str):
        return Drawn(svg=answer["svg"])
    return Drawn(error=str(answer.get("error") or "the renderer could not draw this"))


def _last_line(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if any("out of memory" in line.lower() or "heap limit" in line.lower() for line in lines):
        return "it needed more memory than a diagram may use"
    return (lines[-1] if lines else "no message")[:300]


def _command(node: str) -> list[str]:
    # Node 20 and 22 call the permission model experimental; 23.5 and later do not.
    permission = "--permission" if _node_major(node) >= 23 else "--experimental-permission"
    return [
        node,
        "--no-warnings",
        permission,
        f"--allow-fs-read={NODE_MODULES}{os.sep}",
        f"--allow-fs-read={SCRIPT.parent}{os.sep}",
        f"--max-old-space-size={DIAGRAM_MEMORY // (2 * 1024 * 1024)}",
        str(SCRIPT),
        str(MAX_SVG),
    ]


@cache
def _node_major(node: str) -> int:
    try:
        version = subprocess.run(  # noqa: S603
            [node, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
        return int(version.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return 0


def _limit_node() -> None:
    """In the child, before Node starts: its memory, its CPU time (the kernel's own stop,
    should nothing else stop it), and its end when the process that started it ends (the
    render worker, stopped at its own limit, takes Node with it)."""
    resource.setrlimit(resource.RLIMIT_DATA, (DIAGRAM_MEMORY, DIAGRAM_MEMORY))
    cpu = math.ceil(BATCH_SECONDS) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def renderer_missing() -> str | None:
    """Why diagrams cannot be drawn on this machine, or None (for `quire check`)."""
    if shutil.which("node") is None:
        return "Node.js is not on the PATH"
    for package in ("beautiful-mermaid", "@viz-js/viz"):
        if not (NODE_MODULES / package / "package.json").is_file():
            return f"the npm package {package} is not installed (run npm ci)"
    return None
