"""Benchmark (not a test): what rendering costs a writer and an upgrade.

    .venv/bin/python -m bench.rendering [--posts 10000] [--saves 20] [--jobs 1,2]
                                        [--database-url URL]

1. Saving a post of ten code blocks (Python, Go, a shell session, a diff...) and two
   diagrams (Mermaid and Graphviz), rendered as a save renders it, in the worker process
   (components/render_pool.py): with both diagrams new (Node draws them), with the same
   diagrams again (as the editor's preview renders them, from the worker's memory), and
   in this process without the worker, to show what the worker adds.
2. `quire render` of N posts an older Quire rendered, into a migrated database (SQLite in
   a temporary folder unless --database-url names a PostgreSQL database, which is
   emptied first), seeded as `make bench` seeds it, once for each `--jobs` count.

Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from bench.import_files import empty_postgres, quire
from bench.seed import seed
from cli.render import default_jobs
from components import markdown, render_pool
from components.db import make_engine

CODE = [
    ("python", "import asyncio\n\n\nasync def main() -> None:\n    await asyncio.sleep(1)\n"),
    ("go", 'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hi")\n}\n'),
    ("console", "$ pip install quire\nCollecting quire\n$ quire serve\nServing on :5000\n"),
    ("diff-python", " def f():\n-    return 1\n+    return 2\n"),
    ("rust", 'fn main() {\n    let v: Vec<u32> = (1..10).collect();\n    println!("{v:?}");\n}\n'),
    ("sql", "SELECT id, title\nFROM posts\nWHERE status = 'published'\nORDER BY id DESC;\n"),
    ("javascript", "const sum = (xs) => xs.reduce((a, b) => a + b, 0);\nconsole.log(sum([1]));\n"),
    ("yaml", "title: Hello\ntags: [python, web]\ndate: 2026-12-06\n"),
    ("c", '#include <stdio.h>\n\nint main(void) {\n    puts("hi");\n    return 0;\n}\n'),
    ("bash", 'for f in *.md; do\n  echo "$f"\ndone\n'),
]


def a_post(version: int) -> str:
    """Ten code blocks and two diagrams; `version` changes the diagrams' text."""
    blocks = [
        f'Paragraph {number} of the post.\n\n```{language} title="part-{number}" '
        f'hl_lines="2" linenums="1"\n{code * 3}```\n'
        for number, (language, code) in enumerate(CODE)
    ]
    mermaid = (
        f"```mermaid\nflowchart LR\n  a[Request {version}] --> b{{Kept?}}\n"
        "  b -->|yes| c[Answer]\n  b -->|no| d[Render] --> c\n```\n"
    )
    dot = f"```dot\ndigraph {{ rankdir=LR; save{version} -> render -> store -> read; }}\n```\n"
    return "\n".join([*blocks[:5], mermaid, *blocks[5:], dot])


async def time_saves(saves: int) -> None:
    await render_pool.render("warm the worker up")
    new, again, here = [], [], []
    for version in range(saves):
        body = a_post(version)
        started = time.perf_counter()
        rendered = await render_pool.render(body)
        new.append(time.perf_counter() - started)
        assert rendered.problems == [], rendered.problems
        started = time.perf_counter()
        await render_pool.render(body)
        again.append(time.perf_counter() - started)
        await asyncio.to_thread(markdown.render, body)
        started = time.perf_counter()
        await asyncio.to_thread(markdown.render, body)
        here.append(time.perf_counter() - started)
    print(f"Saving a post of 10 code blocks and 2 diagrams ({len(a_post(0)):,} characters)")
    for label, times in (
        ("new diagrams, in the worker", new),
        ("same diagrams, in the worker", again),
        ("same diagrams, in this process", here),
    ):
        print(
            f"  {label:<31} median {statistics.median(times) * 1000:6.0f} ms"
            f"   max {max(times) * 1000:6.0f} ms"
        )
    render_pool.stop()


def time_rerender(posts: int, database_url: str | None, jobs: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="quire-bench-render-") as temporary:
        folder = Path(temporary)
        url = database_url or f"sqlite+aiosqlite:///{folder / 'render.db'}"
        if database_url:
            asyncio.run(empty_postgres(url))
        env = {**os.environ, "DATABASE_URL": url, "QUIRE_INSTANCE_PATH": str(folder)}
        quire(env, "db", "upgrade")
        asyncio.run(_seed(url, posts))
        backend = "PostgreSQL" if database_url else "SQLite"
        print(f"`quire render` of {posts:,} posts on {backend}")
        for count in jobs:
            asyncio.run(_make_stale(url))
            elapsed, summary = quire(env, "render", "--jobs", str(count))
            print(f"  --jobs {count}  {elapsed:7.1f} s  {posts / elapsed:6.0f} posts/s   {summary}")


async def _seed(url: str, posts: int) -> None:
    engine = make_engine(url)
    try:
        await seed(engine, posts)
    finally:
        await engine.dispose()


async def _make_stale(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE posts SET render_version = 0"))
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--database-url", help="a PostgreSQL database to empty and use")
    parser.add_argument(
        "--jobs",
        default=f"1,{default_jobs()}",
        help="`quire render --jobs` values to time, comma-separated (default: 1 and one per core)",
    )
    options = parser.parse_args()
    asyncio.run(time_saves(options.saves))
    jobs = list(dict.fromkeys(int(count) for count in options.jobs.split(",")))
    time_rerender(options.posts, options.database_url, jobs)


if __name__ == "__main__":
    main()
