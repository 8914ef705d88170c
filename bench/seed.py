"""Seed a migrated, empty database with N realistic posts for the page benchmark.

Each post is about 2,000 words in four sections, with a code block in each, 5 tags from
a pool of 200, and every tenth post has three approved comments (one a reply). Words
follow a Zipf law over a vocabulary of common English, technical terms and made-up
words, so a search matches a realistic share of the posts.

Rendering 100,000 bodies through the Markdown pipeline would take ten minutes, so the
pieces are rendered instead: a pool of paragraphs, headings and code blocks goes through
`components.markdown` once, and a post is a sequence of pieces, its HTML the same
sequence of their HTML (blocks separated by a blank line render independently), its
plain text (what search indexes) their texts joined by spaces.
Posts are then written with bulk INSERTs, so the search index is filled by the
database's own triggers or generated column, as for any other post.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from components import markdown
from components.models import (
    Comment,
    CommentStatus,
    Post,
    PostStatus,
    SiteState,
    Tag,
    User,
    post_tags,
)

# Bump when what a seed holds changes, so that cached seeds are made again.
FORMAT = 3
SECTIONS = 4
PARAGRAPHS_PER_SECTION = (5, 7)
WORDS_PER_PARAGRAPH = (60, 100)
TAGS_PER_POST = 5
TAG_POOL = 200
COMMENTED_EVERY = 10
BATCH = 500
# The benchmark's search: two words that a few percent of the posts hold. Posts share their
# paragraphs, so the words are not left to chance: a few paragraphs of the pool hold them, and
# one of those goes into every SEARCHED_EVERY-th post (the first included, so N = 20 has one).
SEARCH_QUERY = "connection pool"
SEARCHED_EVERY = 25
SEARCHED_PARAGRAPHS = 5

_COMMON_TEXT = (
    "the of and to a in is that for it as with was on be by this are or from at which an "
    "but not have has when we you can will one all if there their more so what about into "
    "than then them these some would could other only also each because how after first"
)
_TECHNICAL_TEXT = (
    "async await session query index cache render template request response worker process "
    "thread lock commit rollback transaction database server client socket stream buffer "
    "parser token compiler function closure generator iterator decorator module package "
    "schema migration column table row join filter sort limit offset cursor page latency "
    "throughput memory allocation garbage pointer struct vector tensor graph node edge tree "
    "hash map queue stack heap benchmark profile trace metric log error exception retry "
    "timeout deadline backoff shard replica leader follower consensus snapshot checkpoint "
    "kernel syscall signal pipe file descriptor container image volume network packet route "
    "proxy header cookie certificate cipher key secret digest signature encoding unicode"
)
_SYLLABLES_TEXT = "ka lo mi ne ru sa te vo zu pi da fe go hi ja ko lu ma no pe qu re si to"
COMMON, TECHNICAL = _COMMON_TEXT.split(), _TECHNICAL_TEXT.split()
SYLLABLES = _SYLLABLES_TEXT.split()
CODE = {
    "python": (
        "async def {a}(session: AsyncSession, {b}: int) -> list[{C}]:\n"
        '    """Fetch the {b} newest rows."""\n'
        "    rows = await session.scalars(select({C}).limit({b}))\n"
        "    return [row for row in rows if row.{a}_ok]\n"
    ),
    "sql": (
        "SELECT {a}.id, count(*) AS {b}_count\n"
        "FROM {a} JOIN {b} ON {b}.{a}_id = {a}.id\n"
        "WHERE {a}.created_at > now() - interval '7 days'\n"
        "GROUP BY {a}.id ORDER BY {b}_count DESC LIMIT 20;\n"
    ),
    "javascript": (
        "export async function {a}({b}) {{\n"
        "  const response = await fetch(`/api/{a}/${{{b}}}`);\n"
        "  if (!response.ok) throw new Error(response.statusText);\n"
        "  return (await response.json()).{b};\n"
        "}}\n"
    ),
    "rust": (
        "fn {a}({b}: &[u64]) -> Option<u64> {{\n"
        "    let total: u64 = {b}.iter().copied().sum();\n"
        "    {b}.len().checked_sub(1).map(|_| total / {b}.len() as u64)\n"
        "}}\n"
    ),
}


@dataclass(frozen=True)
class Piece:
    markdown: str
    html: str
    text: str
    words: int


@dataclass(frozen=True)
class Pool:
    paragraphs: list[Piece]
    searched: list[Piece]  # paragraphs that hold SEARCH_QUERY, and no other does
    headings: list[tuple[Piece, dict[str, Any]]]  # with its table-of-contents entry
    code: list[Piece]
    tags: list[str]


def vocabulary(chance: random.Random) -> list[str]:
    made_up = {
        "".join(chance.choice(SYLLABLES) for _ in range(chance.randint(2, 4))) for _ in range(4000)
    }
    return COMMON + TECHNICAL + sorted(made_up - set(COMMON) - set(TECHNICAL))


def _render(source: str) -> markdown.Rendered:
    return markdown.render(source)


def make_pool(seed: int = 8) -> Pool:
    """The pieces every post is made of, each rendered once by Quire's own pipeline."""
    chance = random.Random(seed)  # noqa: S311 (sample text, not secrets)
    words = vocabulary(chance)
    weights = list(itertools.accumulate(1 / rank for rank in range(1, len(words) + 1)))

    def sentence() -> str:
        count = chance.randint(8, 20)
        return " ".join(chance.choices(words, cum_weights=weights, k=count)).capitalize() + "."

    def paragraph(searched: bool) -> Piece:
        body: list[str] = []
        wanted = chance.randint(*WORDS_PER_PARAGRAPH)
        while sum(len(s.split()) for s in body) < wanted:
            body.append(sentence())
        if searched:
            # The search's words go together, as a phrase would.
            body.insert(chance.randrange(len(body)), f"Size the {SEARCH_QUERY} first.")
        source = " ".join(body)
        if chance.random() < 0.3:
            name = chance.choice(TECHNICAL)
            source = source.replace(f" {name} ", f" `{name}()` ", 1)
        rendered = _render(source)
        return Piece(source, rendered.html, rendered.text, len(source.split()))

    paragraphs = [paragraph(searched=False) for _ in range(3000)]
    searched = [paragraph(searched=True) for _ in range(SEARCHED_PARAGRAPHS)]
    headings = []
    for _ in range(400):
        title = " ".join(chance.choices(TECHNICAL, k=chance.randint(2, 5))).capitalize()
        rendered = _render(f"## {title}")
        headings.append((Piece(f"## {title}", rendered.html, rendered.text, 0), rendered.toc[0]))
    code = []
    for language, template in CODE.items():
        for _ in range(30):
            a, b = chance.sample(TECHNICAL, 2)
            source = f"```{language}\n{template.format(a=a, b=b, C=a.capitalize())}```"
            rendered = _render(source)
            code.append(Piece(source, rendered.html, rendered.text, 0))
    tags = [f"{a}-{b}" for a, b in itertools.product(TECHNICAL[:20], TECHNICAL[20:40])]
    return Pool(paragraphs, searched, headings, code, chance.sample(tags, TAG_POOL))


def _post_pieces(
    pool: Pool, chance: random.Random, searched: bool
) -> tuple[list[Piece], list[dict[str, Any]]]:
    pieces: list[Piece] = []
    toc = []
    # Distinct headings, so that their anchors are distinct as one rendering would make them.
    for heading, entry in chance.sample(pool.headings, SECTIONS):
        pieces.append(heading)
        toc.append(entry)
        count = chance.randint(*PARAGRAPHS_PER_SECTION)
        section = chance.sample(pool.paragraphs, count)
        section.insert(2, chance.choice(pool.code))
        if searched and not toc[1:]:
            section[-1] = chance.choice(pool.searched)
        pieces.extend(section)
    return pieces, toc


def _rows(count: int, pool: Pool, now: datetime) -> Iterator[tuple[dict[str, Any], list[int]]]:
    chance = random.Random(count)  # noqa: S311
    for number in range(1, count + 1):
        pieces, toc = _post_pieces(pool, chance, number % SEARCHED_EVERY == 1)
        words = sum(piece.words for piece in pieces)
        # The newest post is number `count`, published an hour ago; one post an hour before.
        published = now - timedelta(hours=count - number + 1)
        title = " ".join(chance.choices(TECHNICAL, k=chance.randint(3, 7))).capitalize()
        tag_ids = sorted(chance.sample(range(1, TAG_POOL + 1), TAGS_PER_POST))
        row = {
            "id": number,
            "slug": f"post-{number}",
            "title": f"{title} ({number})",
            "description": "",
            "body": "\n\n".join(piece.markdown for piece in pieces) + "\n",
            "body_html": "\n".join(piece.html.rstrip("\n") for piece in pieces) + "\n",
            "body_text": " ".join(piece.text for piece in pieces),
            "excerpt": _excerpt(pieces),
            "reading_minutes": max(1, math.ceil(words / markdown.WORDS_PER_MINUTE)),
            "toc": toc,
            # Pieces rendered by this Quire: nothing for `quire render` to do again.
            "render_version": markdown.VERSION,
            "front_matter": {},
            "tag_names": " ".join(pool.tags[tag_id - 1] for tag_id in tag_ids),
            "status": PostStatus.PUBLISHED,
            "published_at": published,
            "created_at": published,
            "updated_at": published,
            "comments_enabled": True,
            "share_enabled": True,
            "author_id": 1,
            "version": 1,
            "last_editor": "",
        }
        yield row, tag_ids


def _excerpt(pieces: list[Piece]) -> str:
    first = next(piece for piece in pieces if not piece.markdown.startswith(("#", "`")))
    return _render(first.markdown).excerpt


def _comments(post_id: int, published: datetime, first_id: int) -> list[dict[str, Any]]:
    texts = (
        "Thanks, this saved me an afternoon of reading the source.",
        "Does the same hold when the pool is shared by several processes?",
        "It does: each process keeps its own pool, so size them together.",
    )
    rows = []
    for index, body in enumerate(texts):
        rows.append(
            {
                "id": first_id + index,
                "post_id": post_id,
                "parent_id": first_id + 1 if index == 2 else None,
                "author_id": None,
                "author_name": ("Ada", "Brian", "Ada")[index],
                "author_url": "",
                "body": body,
                "body_html": f"<p>{body}</p>\n",
                "status": CommentStatus.APPROVED,
                "created_at": published + timedelta(minutes=10 * (index + 1)),
                "ip": "",
                "commenter": "",
            }
        )
    return rows


async def seed(engine: AsyncEngine, count: int, now: datetime | None = None) -> None:
    """Write `count` posts (and their tags, comments and author) into a migrated, empty
    database behind `engine`."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    pool = make_pool()
    async with engine.begin() as connection:
        await connection.execute(
            insert(User).values(
                id=1,
                email="author@example.com",
                name="Bench Author",
                slug="bench-author",
                password_hash="!",  # noqa: S106 (no password can match: nobody signs in as this author)
            )
        )
        await connection.execute(
            insert(Tag),
            [{"id": i + 1, "name": name, "slug": name} for i, name in enumerate(pool.tags)],
        )
    rows = _rows(count, pool, now)
    comment_id = 1
    while batch := list(itertools.islice(rows, BATCH)):
        comments = []
        for row, _ in batch:
            if row["id"] % COMMENTED_EVERY == 0:
                comments += _comments(row["id"], row["published_at"], comment_id)
                comment_id += 3
        async with engine.begin() as connection:
            await connection.execute(insert(Post), [row for row, _ in batch])
            await connection.execute(
                insert(post_tags),
                [{"post_id": row["id"], "tag_id": t} for row, tags in batch for t in tags],
            )
            if comments:
                await connection.execute(insert(Comment), comments)
    async with engine.begin() as connection:
        await connection.execute(insert(SiteState).values(id=1, version=1, changed_at=now))
        if engine.dialect.name == "postgresql":
            # Explicit ids leave the sequences behind; new rows (the comment POSTs) need them.
            for table in ("users", "tags", "posts", "comments"):
                await connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT coalesce(max(id), 1) FROM {table}))"
                    )
                )
    if engine.dialect.name == "postgresql":
        # As autovacuum would soon do on a real database.
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
