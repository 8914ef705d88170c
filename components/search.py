"""Full-text search over the visible posts, on SQLite's FTS5 index or PostgreSQL's tsvector.

Any text at all is a valid query. It is cut down to plain words before a database sees it, so
no syntax of FTS5 or tsquery (quotes, operators, column filters) can get through, and a search
never fails: at worst it finds nothing. The index itself is built in components/models/search.py,
over each post's plain text (Post.body_text, components/plain_text.py) rather than its Markdown,
so snippets quote what a reader reads: no code fences, heading marks, image or link syntax.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import (
    CTE,
    ColumnClause,
    Integer,
    Select,
    SQLColumnExpression,
    String,
    bindparam,
    case,
    column,
    func,
    literal_column,
    null,
    select,
    table,
)
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import load_only

from components.models import Post, UTCDateTime, utcnow
from components.posts import is_listed

MAX_TERMS = 12
MAX_TERM_LENGTH = 64
MAX_PAGE = 100
MAX_PER_PAGE = 100
# No query needs more text than this to reach MAX_TERMS words; cutting first bounds the work.
MAX_QUERY_CHARS = 2_000
SNIPPET_WORDS = 24
# Only the newest this many matches are ranked, so that a search costs the same on a blog of
# any size: as many as MAX_PAGE pages of ten can show.
CANDIDATES = 1_000
# The last word matches as a prefix from this many characters on.
MIN_PREFIX = 3

# How the databases mark matched words in a snippet. Their output is not HTML-escaped, so the
# marks are private-use characters, found and turned into <mark> tags after escaping the text.
_OPEN, _CLOSE, _LT = "\ue000", "\ue001", "\ue002"
# What else goes in cleaning the text around the marks: on SQLite, markers an author typed
# into the text; on PostgreSQL, the "<" that was hidden from the headline (see _postgresql).
_SQLITE_TEXT = str.maketrans({_OPEN: None, _CLOSE: None})
_POSTGRESQL_TEXT = str.maketrans({_OPEN: None, _CLOSE: None, _LT: "<"})
_WHITESPACE = re.compile(r"\s+")

# SQLite: the FTS5 table, whose hidden column of the same name stands for the table in MATCH
# and as the first argument of its functions. Columns: title, description, body_text, tag_names.
_FTS = table("posts_fts", column("rowid"))
_FTS_SELF: ColumnClause[Any] = literal_column("posts_fts")
_TEXT_COLUMN = 2
# The columns weigh as on PostgreSQL, where title and tags are A (1.0), the description B (0.4)
# and the text C (0.2).
_BM25_WEIGHTS = (5.0, 2.0, 1.0, 5.0)

# PostgreSQL: the generated column, which the ORM does not map.
_VECTOR = literal_column("posts.search_vector", pg.TSVECTOR)
_LANGUAGE = "english"
_HEADLINE_OPTIONS = (
    "StartSel={start}, StopSel={stop}, MaxWords=35, MinWords=15, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
# SET LOCAL: until the end of the transaction.
_CUSTOM_PLANS = select(func.set_config("plan_cache_mode", "force_custom_plan", True))
# The tsvector only covers this much of a text (components/models/search.py), nor does the headline.
_INDEXED_BODY_CHARS = 300_000


@dataclass(frozen=True)
class Hit:
    post: Post  # what a result shows of it: title, address, description and excerpt
    # Some of the post's plain text, matched words in <mark>; else the description or excerpt.
    snippet: Markup


@dataclass(frozen=True)
class SearchPage:
    query: str  # the words searched for, "" when the query had none
    hits: list[Hit]
    page: int
    has_next: bool
    ranked: int = 0  # how many matches were ranked: all of them, or the newest CANDIDATES
    # A search sent whole, whose last word matched nothing as a word: these hits have a word
    # that begins with it (say "kuber" of "kubernetes").
    widened: bool = False

    @property
    def capped(self) -> bool:
        """Did more posts match than were ranked?"""
        return self.ranked >= CANDIDATES


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
    session: AsyncSession,
    query: str,
    *,
    page: int = 1,
    per_page: int = 10,
    typing: bool = False,
    snippets: bool = True,
) -> SearchPage:
    """One page of the visible posts matching every word of `query`, best first.

    While a query is `typing` (the header's live results), its last word matches as a prefix
    too, once it has MIN_PREFIX characters, so that results show before the word is done. A
    query sent whole matches whole words; only when they find nothing is the last word taken
    as a prefix (`widened`). A prefix is dear on SQLite: FTS5 merges the entries of every
    word it begins, once for the matches and once for the snippets (at 100,000 posts, one
    search took 62 ms with its last word a prefix and 16 ms without).

    Without `snippets` each hit's snippet is empty, and the search costs about half as
    much: on SQLite, FTS5 reads the words' entries once instead of twice; on PostgreSQL,
    no text is parsed for a headline (10 headlines took 13 ms of a 35 ms search).

    Only the newest CANDIDATES matches are ranked (see `capped`). One statement whatever
    the number of hits, and on PostgreSQL one more before it that sets how it is planned;
    as many again when the search is widened; none at all when the query has no words.
    """
    page = min(max(page, 1), MAX_PAGE)
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    words = terms(query)
    if not words:
        return SearchPage(query="", hits=[], page=page, has_next=False)
    if typing:
        return await _search(
            session, words, page, per_page, prefix=_prefixed(words), snippets=snippets
        )
    found = await _search(session, words, page, per_page, prefix=False, snippets=snippets)
    if found.hits or not _prefixed(words):
        return found
    # A page past the whole words' last hit stays empty: widened only when they match none.
    if page > 1 and (await _search(session, words, 1, 1, prefix=False, snippets=False)).hits:
        return found
    widened = await _search(session, words, page, per_page, prefix=True, snippets=snippets)
    return dataclasses.replace(widened, widened=True)


async def _search(
    session: AsyncSession,
    words: list[str],
    page: int,
    per_page: int,
    *,
    prefix: bool,
    snippets: bool,
) -> SearchPage:
    # The marks carry a secret, so that an author cannot forge one in a text (SQLite's snippet
    # reads the stored text as it is; PostgreSQL's headline gets it without marker characters).
    nonce = secrets.token_hex(8)
    start, stop = f"{_OPEN}{nonce}{_CLOSE}", f"{_CLOSE}{nonce}{_OPEN}"
    params = {
        "now": utcnow(),
        "candidates": CANDIDATES,
        "offset": (page - 1) * per_page,
        "limit": per_page + 1,
        "shown": page * per_page,
        "start": start,
        "stop": stop,
    }
    cleaning: Mapping[int, str | None]  # a table for str.translate
    if session.get_bind().dialect.name == "postgresql":
        # A prepared statement run five times may get a generic plan, made without knowing
        # the words: it picks one way to find the newest matches for a rare word and for one
        # that every post holds, and is two to three times slower for the latter (measured
        # at 100,000 posts). This transaction's statements are planned for their own words.
        await session.execute(_CUSTOM_PLANS)
        statement, cleaning = _postgresql(snippets), _POSTGRESQL_TEXT
        # Words hold no tsquery syntax. Stop words alone make an empty tsquery, which
        # matches nothing (PostgreSQL says so in a NOTICE).
        params["words"] = " & ".join(words) + (":*" if prefix else "")
        params["options"] = _HEADLINE_OPTIONS.format(start=start, stop=stop)
    else:
        statement, cleaning = _sqlite(snippets), _SQLITE_TEXT
        # Each word is a quoted FTS5 string ("" cannot occur in it), all of them required.
        params["words"] = " ".join(f'"{word}"' for word in words) + ("*" if prefix else "")
    rows = (await session.execute(statement, params)).all()
    hits = [
        Hit(post, _snippet(post, raw, start, stop, cleaning) if snippets else Markup(""))
        for post, raw, _ in rows[:per_page]
    ]
    return SearchPage(
        query=" ".join(words),
        hits=hits,
        page=page,
        has_next=len(rows) > per_page,
        ranked=rows[0][2] if rows else 0,
    )


def _prefixed(words: list[str]) -> bool:
    # A short prefix stands for a great many words: "a"* would merge the index's entries for
    # every word beginning with "a", a second's work at 100,000 posts, for no useful result.
    return len(words[-1]) >= MIN_PREFIX


# The statements are built once, with every value a parameter: building one costs more than
# running it on a small blog (3.7 ms against 2.8 ms, measured at 20 posts).
_NOW = bindparam("now", type_=UTCDateTime())
_WORDS = bindparam("words", type_=String())
_START = bindparam("start", type_=String())
_STOP = bindparam("stop", type_=String())
# What a result shows, and no more: a post's body, its HTML and its text weigh more than the
# rest of the page, and its tags are not shown. Any other column raises if read.
_SHOWN = load_only(
    Post.slug, Post.title, Post.description, Post.excerpt, Post.published_at, raiseload=True
)


def _ranked(candidates: CTE) -> CTE:
    """One page of the candidates, best first (ties newest first), with the row after it
    (`shown` is false there: it only tells that there is a next page), and how many
    candidates there were."""
    total = select(func.count()).select_from(candidates).scalar_subquery()
    order = (candidates.c.score, candidates.c.published_at.desc(), candidates.c.id.desc())
    position = func.row_number().over(order_by=order)  # counted before the offset
    return (
        select(
            candidates.c.id,
            candidates.c.score,
            total.label("total"),
            (position <= bindparam("shown", type_=Integer())).label("shown"),
        )
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer()))
        .offset(bindparam("offset", type_=Integer()))
        .cte("ranked")
        .prefix_with("MATERIALIZED")
    )


@cache
def _sqlite(snippets: bool) -> Select:
    matching = _FTS_SELF.bool_op("MATCH")(_WORDS)
    # Ordered by the index's own rowid, so that FTS5 walks its matches newest first and stops
    # after CANDIDATES of them, ranking only those (bm25 is computed as each row is read).
    candidates = (
        select(
            Post.id,
            Post.published_at,
            func.bm25(_FTS_SELF, *_BM25_WEIGHTS).label("score"),
        )
        .select_from(_FTS)
        .join(Post, Post.id == _FTS.c.rowid)
        .where(matching, is_listed(_NOW))
        .order_by(_FTS.c.rowid.desc())
        .limit(bindparam("candidates", type_=Integer()))
        .cte("candidates")
        .prefix_with("MATERIALIZED")  # read twice below, made once
    )
    ranked = _ranked(candidates)
    if not snippets:
        return _hits(ranked, null())
    # FTS5 only makes snippets in a query that matches, and each MATCH it is handed again
    # reads the whole index entry of every word (all words, for a prefix). So the snippets
    # come from one pass over the matches between the page's oldest and newest ids; the
    # "+ 0" keeps the page's ids from being handed to FTS5 one MATCH at a time.
    page_ids = select(ranked.c.id).where(ranked.c.shown)
    found = (
        select(
            _FTS.c.rowid.label("id"),
            func.snippet(_FTS_SELF, _TEXT_COLUMN, _START, _STOP, "…", SNIPPET_WORDS).label(
                "snippet"
            ),
        )
        .where(
            matching,
            _FTS.c.rowid >= select(func.min(ranked.c.id)).where(ranked.c.shown).scalar_subquery(),
            _FTS.c.rowid <= select(func.max(ranked.c.id)).where(ranked.c.shown).scalar_subquery(),
            (_FTS.c.rowid + 0).in_(page_ids),
        )
        .cte("snippets")
        .prefix_with("MATERIALIZED")
    )
    return _hits(ranked, found.c.snippet).outerjoin(found, found.c.id == Post.id)


@cache
def _postgresql(snippets: bool) -> Select:
    tsquery = pg.to_tsquery(_LANGUAGE, _WORDS)
    # The newest matches first, found without ranking: ts_rank_cd reads a post's whole
    # tsvector, so it is computed for these candidates only, in the query around it.
    newest = (
        select(Post.id)
        .where(_VECTOR.bool_op("@@")(tsquery), is_listed(_NOW))
        .order_by(Post.id.desc())
        .limit(bindparam("candidates", type_=Integer()))
        .subquery("newest")
    )
    candidates = (
        select(Post.id, Post.published_at, (-func.ts_rank_cd(_VECTOR, tsquery)).label("score"))
        .join(newest, newest.c.id == Post.id)
        .cte("candidates")
        .prefix_with("MATERIALIZED")  # read twice below, made once
    )
    ranked = _ranked(candidates)
    if not snippets:
        return _hits(ranked, null())
    # The headline would leave out whatever looks like an HTML tag (<script>), so it gets each
    # "<" as _LT; and it gets no marker character, so every one in its output is its own.
    text = func.translate(
        func.left(Post.body_text, _INDEXED_BODY_CHARS), "<" + _OPEN + _CLOSE + _LT, _LT
    )
    options = bindparam("options", type_=String())
    # Not for the row that only tells there is a next page: a headline reads the whole text.
    headline = case((ranked.c.shown, pg.ts_headline(_LANGUAGE, text, tsquery, options)))
    return _hits(ranked, headline)


def _hits(ranked: CTE, snippet: SQLColumnExpression[str | None]) -> Select:
    """The page's posts in their rank's order, each with its snippet and the candidates' count."""
    return (
        select(Post, snippet, ranked.c.total)
        .join(ranked, ranked.c.id == Post.id)
        .order_by(ranked.c.score, Post.published_at.desc(), Post.id.desc())
        .options(_SHOWN)
    )


def _snippet(
    post: Post, raw: str | None, start: str, stop: str, text: Mapping[int, str | None]
) -> Markup:
    """The database's snippet as safe HTML, or the post's own summary when the text has no match."""
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
