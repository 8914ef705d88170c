"""`quire render` (and the end of `quire db upgrade`): every post that an older Quire
rendered, rendered again (components/rerender.py), a batch per transaction, with a
progress bar. Stopped at any point, it picks up where it was when run again."""

from __future__ import annotations

import os

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cli import portability, runs
from components import render_pool, rerender
from components.db import make_sessionmaker

# Each render worker may take render_pool.RENDER_MEMORY: more than four would ask a small
# machine for more memory than it has, for little gain.
MAX_DEFAULT_JOBS = 4


def default_jobs() -> int:
    """Render workers for a command that has the machine to itself: one per core, to 4."""
    return max(1, min(os.cpu_count() or 1, MAX_DEFAULT_JOBS))


async def render_stale(engine: AsyncEngine, jobs: int = 1) -> str:
    """Render the stale posts, `jobs` at a time; what was done, in one line."""
    async with make_sessionmaker(engine)() as session:
        total = await rerender.stale_count(session)
    if not total:
        return "every post is rendered as this version of Quire renders it"
    render_pool.use_workers(jobs)
    written = 0
    problems: list[str] = []
    refusals: list[str] = []
    async with portability.web_links() as web:
        links = rerender.Links(url=web.media_url, picture=web.picture)
        with portability.progress(total, "Rendering") as show:
            after = 0
            while True:

                async def batch(session: AsyncSession, start: int = after) -> tuple[int, int]:
                    return await rerender.render_batch(
                        session, links, after=start, refusals=refusals
                    )

                done = await runs.in_transaction(
                    engine, batch, dry_run=False, what=f"posts after id {after}"
                )
                if isinstance(done, str):  # the batch could not be written: said, and stop
                    problems.append(done)
                    break
                last, count = done
                for _ in range(count):
                    show("rendered")
                written += count
                if last == after:
                    break
                after = last
    if problems:
        raise SystemExit(f"quire: rendered {written} of {total} post(s); then {problems[0]}")
    done = f"rendered {written} post(s) again"
    if refusals:
        # Each keeps its older HTML, and is tried again by the next `quire render`.
        listed = "\n".join(f"  {refusal}" for refusal in dict.fromkeys(refusals))
        return f"{done}; {len(refusals)} could not be, and keep their older HTML:\n{listed}"
    return f"{done} ({total - written} saved meanwhile by their writers)"
