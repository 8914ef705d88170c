"""Sample posts for a new blog, so that a fresh install has something to read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from components.models import PostStatus, utcnow
from components.saving import Content, write
from components.text import slugify


@dataclass(frozen=True)
class DemoPost:
    title: str
    description: str
    tags: tuple[str, ...]
    body: str
    days_ago: int | None  # None: a draft


DEMO_POSTS = (
    DemoPost(
        title="Welcome to Quire",
        description="What this blog engine is for, and how to make it yours.",
        tags=("quire", "meta"),
        days_ago=9,
        body="""\
Quire is a small blog engine for people who write about technical things. Posts
are Markdown files with a little front matter; pages are rendered on the server
and arrive in one request, so a reader on a slow phone sees the text at once.

## What you get

- Fast pages: the HTML of a post is rendered when you save it, not when it is read.
- Code that looks right: fenced blocks are highlighted on the server.
- Navigation without reloads, that still works with JavaScript switched off.

## Next steps

Replace these sample posts with your own, and tell your readers where the feed is.
""",
    ),
    DemoPost(
        title="Timing Python code without fooling yourself",
        description="A stopwatch around one call measures the stopwatch as much as the code.",
        tags=("python", "performance", "shell"),
        days_ago=5,
        body="""\
The first instinct when something feels slow is to wrap it in two calls to
`time.time()`. That number is noisy: it includes the first call's imports, the
garbage collector and whatever else the machine was doing.

## Let `timeit` repeat it

`timeit` runs the statement many times and reports the best of several rounds,
which is the closest you get to the cost of the code itself:

```python
import timeit

def join_words(words: list[str]) -> str:
    return " ".join(words)

words = ["quire"] * 1_000
best = min(timeit.repeat(lambda: join_words(words), number=10_000, repeat=5))
print(f"{best / 10_000 * 1e6:.2f} µs per call")
```

## Or from the shell

For a quick comparison there is no need to write a file at all:

```shell
$ python -m timeit -s 'words = ["quire"] * 1000' '" ".join(words)'
20000 loops, best of 5: 11.2 usec per loop
```

Measure twice, on a quiet machine, and compare like with like.
""",
    ),
    DemoPost(
        title="Reading a Git history like a story",
        description="",
        tags=("git", "tools", "workflow", "writing"),
        days_ago=2,
        body="""\
A repository's history is the longest document most teams ever write, and the
least read. A few commands turn it back into something you can follow.

## Start from the shape

`git log --oneline --graph` shows the branches and merges before any detail.
When one file is the subject, `git log --follow -p -- path/to/file` tells its
whole story, renames included. A release with one side branch reads like this:

```mermaid title="Between two releases"
flowchart LR
  v12([v1.2]) --> fix[Fix date parsing] --> v13([v1.3])
  v12 --> feature[Add export] --> merge{Merge} --> v13
```

## Ask who and why

| Question | Command |
|---|---|
| Who changed this line? | `git blame -w -C path` |
| When did this string appear? | `git log -S 'needle'` |
| What changed between releases? | `git diff v1.2..v1.3 --stat` |

A good commit message answers *why*; the diff already says *what*.
""",
    ),
    DemoPost(
        title="Notes on SQLite's write-ahead log",
        description="Unfinished: why WAL mode lets readers and a writer work at once.",
        tags=("sqlite", "databases"),
        days_ago=None,
        body="""\
In write-ahead mode a writer appends to a separate file while readers keep
reading the last committed state. To be continued.
""",
    ),
)


async def load(session: AsyncSession) -> int:
    """Add the demo posts; returns how many were added. The caller commits."""
    now = utcnow()
    for demo in DEMO_POSTS:
        published_at = None if demo.days_ago is None else now - timedelta(days=demo.days_ago)
        content = Content(
            title=demo.title,
            slug=slugify(demo.title),
            description=demo.description,
            body=demo.body,
            tags=demo.tags,
            status=PostStatus.DRAFT if published_at is None else PostStatus.PUBLISHED,
            published_at=published_at,
            # A new blog shows the conversation working, as new posts have it on by default.
            comments_enabled=True,
            share_enabled=True,
        )
        # Sample posts have no history of their own: no revision is kept of them.
        await write(session, None, content, author=None, revision=None)
    return len(DEMO_POSTS)
