"""Full-text search over the visible posts, on SQLite's FTS5 index or PostgreSQL's tsvector.

Any text at all is a valid query. It is cut down to plain words before a database sees it, so
no syntax of FTS5 or tsquery (quotes, operators, column filters) can get through, and a search
never fails: at worst it finds nothing. The index itself is built in components/models.py.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import NamedTuple

from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, Select, column, func, literal_column, select, table
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from components.models import Post, utcnow
from components.posts import is_visible

MAX_TERMS = 12
MAX_TERM_LENGTH = 64
MAX_PAGE = 100
MAX_PER_PAGE = 100
# No query needs more text than this to reach MAX_TERMS words; cutting first bounds the work.
MAX_QUERY_CHARS = 2_000
SNIPPET_WORDS = 24

# How the databases mark matched words in a snippet. Their output is not HTML-escaped, so the
# marks are private-use characters, found and turned into <mark> tags after escaping the text.
_OPEN, _CLOSE, _LT = "\ue000", "\ue001", "\ue002"
# What else goes in cleaning the text around the marks: on SQLite, markers an author typed
# into the body; on PostgreSQL, the "<" that was hidden from the headline (see _postgresql).
_SQLITE_TEXT = str.maketrans({_OPEN: None, _CLOSE: None})
_POSTGRESQL_TEXT = str.maketrans({_OPEN: None, _CLOSE: None, _LT: "<"})
_WHITESPACE = re.compile(r"\s+")

# SQLite: the FTS5 table, whose hidden column of the same name stands for the table in MATCH
# and as the first argument of its functions. Columns: title, description, body, tag_names.
_FTS = table("posts_fts", column("rowid"))
_FTS_SELF = literal_column("posts_fts")
_BODY_COLUMN = 2
# The columns weigh as on PostgreSQL, where title and tags are A (1.0), the description B (0.4)
# and the body C (0.2).
_BM25_WEIGHTS = (5.0, 2.0, 1.0, 5.0)

# PostgreSQL: the generated column, which the ORM does not map.
_VECTOR = literal_column("posts.search_vector", pg.TSVECTOR)
_LANGUAGE = "english"
# The tsvector only covers this much of a body (components/models.py), nor does the headline.
_INDEXED_BODY_CHARS = 300_000


@dataclass(frozen=True)
class Hit:
    post: Post  # with its tags loaded
    snippet: Markup  # some of the body, matched words in <mark>; else the description or excerpt


@dataclass(frozen=True)
class SearchPage:
    query: str  # the words searched for, "" when the query had none
    hits: list[Hit]
    page: int
    has_next: bool


def terms(query: str) -> list[str]:
    """The words of a query: runs of letters, digits and combining marks, nothing else.

    Everything else separates words: punctuation and symbols (so no quote or operator of FTS5 or
    tsquery survives), spaces, control and format characters, emoji, private-use characters and
    lone surrogates (which could not even be encoded for the database driver).
    """
    text = unicodedata.normalize("NFKC", query[:MAX_QUERY_CHARS])
    spaced = "".join(char if unicodedata.category(char)[0] in "LNM" else " " for char in text)
    words = (word[:MAX_TERM_LENGTH] for word in spaced.split())
    # A word of combining marks alone has no letter for either tokenizer: leave it out.
    return [w for w in words if any(unicodedata.category(c)[0] in "LN" for c in w)][:MAX_TERMS]


async def search(
    session: AsyncSession, query: str, *, page: int = 1, per_page: int = 10
) -> SearchPage:
    """One page of the visible posts matching every word of `query`, best first.

    The last word also matches as a prefix, so that results show while a word is being typed.
    Two statements whatever the number of hits (the search, then the hits' tags); none at all
    when the query has no words.
    """
    page = min(max(page, 1), MAX_PAGE)
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    words = terms(query)
    if not words:
        return SearchPage(query="", hits=[], page=page, has_next=False)
    # The marks carry a secret, so that an author cannot forge one in a body (SQLite's snippet
    # reads the stored body as it is; PostgreSQL's headline gets it without marker characters).
    nonce = secrets.token_hex(8)
    start, stop = f"{_OPEN}{nonce}{_CLOSE}", f"{_CLOSE}{nonce}{_OPEN}"
    if session.get_bind().dialect.name == "postgresql":
        plan = _postgresql(words, start, stop)
    else:
        plan = _sqlite(words, start, stop)
    newest_first = (Post.published_at.desc(), Post.id.desc())
    # The page is chosen first, and the snippets made for its posts only: a snippet reads the
    # whole body, and OFFSET would otherwise make one for every post on the pages before.
    ranked = (
        plan.matches.with_only_columns(Post.id, plan.score.label("score"))
        .where(is_visible(utcnow()))
        .order_by(plan.score, *newest_first)
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
        .subquery("ranked")
    )
    statement = (
        plan.with_snippets.join(ranked, ranked.c.id == Post.id)
        .order_by(ranked.c.score, *newest_first)
        .options(selectinload(Post.tags))
    )
    rows = (await session.execute(statement)).all()
    hits = [Hit(post, _snippet(post, raw, start, stop, plan.text)) for post, raw in rows[:per_page]]
    return SearchPage(query=" ".join(words), hits=hits, page=page, has_next=len(rows) > per_page)


class _Plan(NamedTuple):
    """How one database searches."""

    matches: Select  # the posts that match
    score: ColumnElement[float]  # how well each matches: lower is better
    with_snippets: Select  # posts and their snippets, once joined to a page of matches
    text: dict[int, str | None]  # what to do to the text around the marks (str.translate)


def _sqlite(words: list[str], start: str, stop: str) -> _Plan:
    # Each word is a quoted FTS5 string ("" cannot occur in it), all of them required.
    match = " ".join(f'"{word}"' for word in words) + "*"
    matches = (
        select(Post).join(_FTS, _FTS.c.rowid == Post.id).where(_FTS_SELF.bool_op("MATCH")(match))
    )
    score = func.bm25(_FTS_SELF, *_BM25_WEIGHTS)
    # FTS5 only makes snippets in a query that matches.
    snippet = func.snippet(_FTS_SELF, _BODY_COLUMN, start, stop, "…", SNIPPET_WORDS)
    return _Plan(matches, score, matches.add_columns(snippet), _SQLITE_TEXT)


def _postgresql(words: list[str], start: str, stop: str) -> _Plan:
    # Words hold no tsquery syntax. Stop words alone make an empty tsquery, which matches
    # nothing (PostgreSQL says so in a NOTICE).
    tsquery = pg.to_tsquery(_LANGUAGE, " & ".join(words) + ":*")
    matches = select(Post).where(_VECTOR.bool_op("@@")(tsquery))
    score = -func.ts_rank_cd(_VECTOR, tsquery)
    # The headline would leave out whatever looks like an HTML tag (<script>), so it gets each
    # "<" as _LT; and it gets no marker character, so every one in its output is its own.
    body = func.translate(
        func.left(Post.body, _INDEXED_BODY_CHARS), "<" + _OPEN + _CLOSE + _LT, _LT
    )
    options = (
        f"StartSel={start}, StopSel={stop}, MaxWords=35, MinWords=15, "
        'MaxFragments=2, FragmentDelimiter=" … "'
    )
    headline = pg.ts_headline(_LANGUAGE, body, tsquery, options)
    return _Plan(matches, score, select(Post, headline), _POSTGRESQL_TEXT)


def _snippet(
    post: Post, raw: str | None, start: str, stop: str, text: dict[int, str | None]
) -> Markup:
    """The database's snippet as safe HTML, or the post's own summary when the body has no match."""
    if not raw or start not in raw:
        return escape(post.description or post.excerpt)
    html: list[str] = []
    is_open = False
    for part in re.split(f"({re.escape(start)}|{re.escape(stop)})", _WHITESPACE.sub(" ", raw)):
        if part == start:
            html.append("" if is_open else "<mark>")
            is_open = True
        elif part == stop:
            html.append("</mark>" if is_open else "")
            is_open = False
        else:
            html.append(escape(part.translate(text)))
    if is_open:
        html.append("</mark>")
    return Markup("".join(html).strip())  # noqa: S704 - every piece of text above is escaped
