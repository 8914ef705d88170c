"""Benchmark (not a test): `quire import` of N generated Jekyll files into an empty blog.

    .venv/bin/python -m bench.import_files [--files 10000] [--database-url URL]

It writes N posts of a few hundred words (a code block, 5 tags from a pool of 200,
every tenth a draft) into a temporary folder, migrates a fresh database (SQLite in
the same folder unless --database-url names another, which is emptied first), then
times a first import, an import of the same files again (every post unchanged) and a
dry run, each as the `quire` command runs it. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from components.db import make_engine

WORDS = ["async", "await", "session", "query", "index", "cache", "render", "template"]
TAGS = [f"topic-{number}" for number in range(200)]


def write_files(folder: Path, count: int, seed: int = 7) -> None:
    chance = random.Random(seed)  # noqa: S311 (sample text, not secrets)
    posts = folder / "_posts"
    posts.mkdir(parents=True)
    for number in range(count):
        day = 1 + number % 28
        words = " ".join(chance.choice(WORDS) for _ in range(300))
        tags = " ".join(chance.sample(TAGS, 5))
        draft = "published: false\n" if number % 10 == 0 else ""
        (posts / f"2024-{1 + number % 12:02d}-{day:02d}-post-{number}.md").write_text(
            f"---\ntitle: Post number {number}\ndate: 2024-01-01 10:00:00 +0000\n"
            f"tags: {tags}\ncomments: true\n{draft}layout: post\n---\n\n"
            f"{words}\n\n```python\nprint({number})\n```\n\n{words}\n",
            encoding="utf-8",
        )


async def empty_postgres(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()


def quire(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own command, our own arguments)
        [str(Path(sys.executable).with_name("quire")), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"quire {' '.join(args)} failed:\n{done.stderr}")
    return elapsed, done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--database-url", help="a PostgreSQL database to empty and use")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="quire-bench-import-") as temporary:
        folder = Path(temporary)
        write_files(folder / "site", options.files)
        url = options.database_url or f"sqlite:///{folder / 'bench.db'}"
        if options.database_url:
            asyncio.run(empty_postgres(url))
        env = {**os.environ, "DATABASE_URL": url, "QUIRE_INSTANCE_PATH": str(folder / "instance")}
        quire(env, "db", "upgrade")
        backend = "PostgreSQL" if options.database_url else "SQLite"
        print(f"{options.files} files on {backend}")
        for label, args in (
            ("first import", ()),
            ("again, unchanged", ()),
            ("dry run", ("--dry-run",)),
        ):
            elapsed, summary = quire(env, "import", *args, str(folder / "site"))
            rate = options.files / elapsed
            print(f"  {label:<17} {elapsed:7.1f} s  {rate:6.0f} files/s   {summary}")


if __name__ == "__main__":
    main()
