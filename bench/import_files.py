"""Benchmark (not a test): `quire import` of N generated posts into an empty blog, as
Jekyll files and as one WordPress export.

    .venv/bin/python -m bench.import_files [--files 10000] [--database-url URL]

It writes N posts of a few hundred words (a code block, 5 tags from a pool of 200,
every tenth a draft) into a temporary folder, as Markdown files and as a WXR file
(the same text in HTML, with two comments each), migrates a fresh database (SQLite in
the same folder unless --database-url names another, which is emptied first), then
times, for each, a first import, an import again (every post unchanged) and a dry
run, as the `quire` command runs them. Nothing leaves 127.0.0.1. It prints a line as
each run ends, then the table the README keeps, with the machine's load average before
and after (the machine may be shared: read the numbers with it).
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


def write_wordpress(path: Path, count: int, seed: int = 7) -> None:
    """The same posts as a WordPress export: HTML bodies, tags, two comments each."""
    chance = random.Random(seed)  # noqa: S311 (sample text, not secrets)
    with path.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:wp="http://wordpress.org/export/1.2/"><channel>'
            "<wp:wxr_version>1.2</wp:wxr_version>"
            "<wp:base_blog_url>https://bench.example</wp:base_blog_url>\n"
        )
        for number in range(count):
            words = " ".join(chance.choice(WORDS) for _ in range(300))
            tags = "".join(
                f'<category domain="post_tag"><![CDATA[{tag}]]></category>'
                for tag in chance.sample(TAGS, 5)
            )
            status = "draft" if number % 10 == 0 else "publish"
            comments = "".join(
                f"<wp:comment><wp:comment_id>{number * 2 + c}</wp:comment_id>"
                f"<wp:comment_author>Reader {c}</wp:comment_author>"
                f"<wp:comment_date_gmt>2024-02-0{c + 1} 10:00:00</wp:comment_date_gmt>"
                f"<wp:comment_content><![CDATA[Comment {c}: {words[:80]}]]></wp:comment_content>"
                "<wp:comment_approved>1</wp:comment_approved>"
                f"<wp:comment_parent>{number * 2 if c else 0}</wp:comment_parent></wp:comment>"
                for c in range(2)
            )
            out.write(
                f"<item><title>Post number {number}</title>"
                f"<link>https://bench.example/2024/01/post-{number}/</link>"
                f"<content:encoded><![CDATA[<p>{words}</p>\n"
                f'<pre class="wp-block-code"><code class="language-python">print({number})'
                f"</code></pre>\n<p>{words}</p>]]></content:encoded>"
                f"<wp:post_id>{number + 1}</wp:post_id>"
                "<wp:post_date_gmt>2024-01-01 10:00:00</wp:post_date_gmt>"
                f"<wp:comment_status>open</wp:comment_status><wp:post_name>post-{number}"
                f"</wp:post_name><wp:status>{status}</wp:status>"
                f"<wp:post_type>post</wp:post_type>{tags}{comments}</item>\n"
            )
        out.write("</channel></rss>\n")


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


RUNS = (("first import", ()), ("again, unchanged", ()), ("dry run", ("--dry-run",)))


def load_average() -> str:
    """The 1, 5 and 15-minute load averages (Linux), or a word saying there are none."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def table(count: int, backend: str, rows: dict[str, list[float]]) -> str:
    """The README's table: each kind's runs, in seconds and posts a second."""
    lines = [
        f"| {count:,} posts as ({backend}) | " + " | ".join(label for label, _ in RUNS) + " |",
        "|---" * (len(RUNS) + 1) + "|",
    ]
    for kind, times in rows.items():
        cells = [f"{elapsed:.1f} s ({count / elapsed:,.0f} posts/s)" for elapsed in times]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--database-url", help="a PostgreSQL database to empty and use")
    options = parser.parse_args()
    before = load_average()
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="quire-bench-import-") as temporary:
        folder = Path(temporary)
        write_files(folder / "site", options.files)
        write_wordpress(folder / "wordpress.xml", options.files)
        backend = "PostgreSQL" if options.database_url else "SQLite"
        kinds = (
            ("Markdown files", "site"),
            ("one WordPress export (2 comments a post)", "wordpress.xml"),
        )
        for kind, source in kinds:
            url = options.database_url or f"sqlite:///{folder / (source + '.db')}"
            if options.database_url:
                asyncio.run(empty_postgres(url))
            instance = str(folder / f"instance-{source}")
            env = {**os.environ, "DATABASE_URL": url, "QUIRE_INSTANCE_PATH": instance}
            quire(env, "db", "upgrade")
            print(f"{options.files} posts as {kind} on {backend}", flush=True)
            for label, args in RUNS:
                elapsed, summary = quire(env, "import", *args, str(folder / source))
                rate = options.files / elapsed
                line = f"  {label:<17} {elapsed:7.1f} s  {rate:6.0f} posts/s   {summary}"
                print(line, flush=True)
                rows.setdefault(kind, []).append(elapsed)
    print()
    print(table(options.files, backend, rows))
    print(f"\nload average (1, 5, 15 min): {before} before, {load_average()} after")


if __name__ == "__main__":
    main()
