"""Full-text search on both databases: what is found, in what order, and that no query fails."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest
from markupsafe import Markup
from sqlalchemy import text
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession

from components import search as search_module
from components.models import Post, PostStatus, utcnow
from components.saving import Content, write
from components.search import MAX_PAGE, MAX_TERM_LENGTH, MAX_TERMS, SearchPage, search, terms

from .conftest import StatementLog, write_post


async def publish(db: AsyncSession, title: str, days_ago: float = 1, **fields: Any) -> Post:
    post = await write_post(
        db,
        title=title,
        body=fields.pop("body", "Nothing to see."),
        status=fields.pop("status", PostStatus.PUBLISHED),
        published_at=fields.pop("published_at", utcnow() - timedelta(days=days_ago)),
        **fields,
    )
    await db.commit()
    return post


async def titles(db: AsyncSession, query: str) -> list[str]:
    return [hit.post.title for hit in (await search(db, query)).hits]


# --- what is found, and in what order ----------------------------------------


async def test_title_match_ranks_above_body_match(db: AsyncSession) -> None:
    await publish(db, "Once upon a party", body="There I met kubernetes, briefly.", days_ago=1)
    await publish(db, "Kubernetes in anger", body="Pods and more pods.", days_ago=2)
    await publish(db, "Unrelated", body="Nothing about containers.")
    assert await titles(db, "kubernetes") == ["Kubernetes in anger", "Once upon a party"]


async def test_equal_matches_are_newest_first(db: AsyncSession) -> None:
    for days_ago in (3, 1, 2):
        await publish(db, f"Widget {days_ago}", days_ago=days_ago)
    assert await titles(db, "widget") == ["Widget 1", "Widget 2", "Widget 3"]


async def test_tags_and_descriptions_are_searched(db: AsyncSession) -> None:
    await publish(db, "Tagged", tags=["Zymurgy"])
    await publish(db, "Described", description="Notes on quasicrystals.")
    assert await titles(db, "zymurgy") == ["Tagged"]
    assert await titles(db, "quasicrystals") == ["Described"]


async def test_words_are_stemmed(db: AsyncSession) -> None:
    await publish(db, "Habits", body="I run every morning before work.")
    assert await titles(db, "running") == ["Habits"]
    assert await titles(db, "Runs mornings") == ["Habits"]


async def test_every_word_is_required_and_the_last_is_a_prefix(db: AsyncSession) -> None:
    await publish(db, "Kubernetes in anger", body="Pods and more pods.")
    assert await titles(db, "kuber") == ["Kubernetes in anger"]
    assert await titles(db, "pods kuber") == ["Kubernetes in anger"]
    assert await titles(db, "kuber pods") == [], "only the last word is a prefix"
    assert await titles(db, "kubernetes zebra") == []


async def test_a_sent_search_takes_whole_words_and_a_typed_one_prefixes_the_last(
    db: AsyncSession,
) -> None:
    await publish(db, "Kube notes", body="Kube is short for it.", days_ago=2)
    await publish(db, "Kubernetes in anger", body="Pods and more pods.", days_ago=1)
    sent = await search(db, "kube")
    assert [hit.post.title for hit in sent.hits] == ["Kube notes"] and not sent.widened
    typed = await search(db, "kube", typing=True)
    assert {hit.post.title for hit in typed.hits} == {"Kube notes", "Kubernetes in anger"}
    assert not typed.widened


async def test_whole_words_that_find_nothing_widen_to_a_prefix_on_every_page(
    db: AsyncSession,
) -> None:
    for number in range(7):
        await publish(db, f"Kubernetes {number}", days_ago=number + 1)
    first = await search(db, "kuber", per_page=5)
    assert first.widened and len(first.hits) == 5 and first.has_next
    second = await search(db, "kuber", page=2, per_page=5)
    assert second.widened and [hit.post.title for hit in second.hits] == [
        "Kubernetes 5",
        "Kubernetes 6",
    ]


async def test_a_page_past_the_whole_words_hits_is_not_widened(db: AsyncSession) -> None:
    await publish(db, "Kube notes", body="Kube is short for it.", days_ago=1)
    for number in range(6):
        await publish(db, f"Kubernetes {number}", days_ago=number + 2)
    past = await search(db, "kube", page=2, per_page=5)
    assert past.hits == [] and not past.widened and not past.has_next


async def test_a_short_last_word_is_a_word_not_a_prefix(db: AsyncSession) -> None:
    await publish(db, "Kubernetes in anger", body="Pods and more pods.")
    await publish(db, "Going places", body="Go is a language.")
    assert search_module.MIN_PREFIX == 3
    assert await titles(db, "ku") == []
    assert await titles(db, "kub") == ["Kubernetes in anger"]
    assert await titles(db, "go") == ["Going places"], "the word go, not every word in go-"


async def test_only_the_newest_matches_are_ranked(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The oldest post would rank first (its title matches), were it among the candidates.
    await publish(db, "Kubernetes in anger", days_ago=9)
    for number in range(3):
        await publish(db, f"Notes {number}", body="I met kubernetes.", days_ago=3 - number)
    await write_post(db, title="Draft on kubernetes", body="kubernetes")  # not a candidate
    await db.commit()
    monkeypatch.setattr(search_module, "CANDIDATES", 3)
    found = await search(db, "kubernetes")
    assert [hit.post.title for hit in found.hits] == ["Notes 2", "Notes 1", "Notes 0"]
    assert (found.ranked, found.capped) == (3, True)
    monkeypatch.setattr(search_module, "CANDIDATES", 5)
    found = await search(db, "kubernetes")
    assert [hit.post.title for hit in found.hits][:1] == ["Kubernetes in anger"]
    assert (found.ranked, found.capped) == (4, False)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_search_costs_the_same_however_many_posts_match(
    db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted in SQLite's virtual machine steps, which grow with every row a query reads.
    (PostgreSQL reads a small table whole, whatever the query: its window is shown by the
    test above, its plans by the one below.)"""
    monkeypatch.setattr(search_module, "CANDIDATES", 10)
    connection = await db.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0  # go on

    async def cost() -> int:
        steps[0] = 0
        await driver.set_progress_handler(step, 10)
        try:
            assert len((await search(db, "widget", page=2, per_page=3)).hits) == 3
        finally:
            await driver.set_progress_handler(None, 10)
        return steps[0]

    for number in range(20):
        await publish(db, f"Widget {number}", body="Widgets, widgets and widgets.")
    few = await cost()
    for number in range(60):
        await publish(db, f"Gadget {number}", body="A widget, and more.")
    many = await cost()
    assert many < few * 1.2, (few, many)


async def test_drafts_and_future_posts_are_never_found(db: AsyncSession) -> None:
    await write_post(db, title="Draft kubernetes", body="kubernetes")
    await publish(
        db,
        "Scheduled kubernetes",
        published_at=utcnow() + timedelta(days=1),
        status=PostStatus.SCHEDULED,
    )
    await publish(db, "Future kubernetes", published_at=utcnow() + timedelta(hours=1))
    await publish(db, "Due kubernetes", days_ago=0.01, status=PostStatus.SCHEDULED)
    assert await titles(db, "kubernetes") == ["Due kubernetes"]


async def test_a_deleted_post_is_not_found(db: AsyncSession) -> None:
    gone = await publish(db, "Kubernetes gone", tags=["Ops"])
    await publish(db, "Kubernetes stays")
    await db.delete(gone)
    await db.flush()
    assert await titles(db, "kubernetes") == ["Kubernetes stays"]
    assert await titles(db, "ops") == []


async def test_an_edited_post_is_found_by_its_new_words(db: AsyncSession) -> None:
    post = await publish(db, "Kubernetes notes", body="About pods.")
    # As the editor saves: the text is rendered again, and its plain text with it.
    edited = Content(
        title="Nomad notes",
        slug=post.slug,
        body="About allocations.",
        status=PostStatus.PUBLISHED,
        published_at=post.published_at,
    )
    await write(db, post, edited, author=None, revision=None)
    assert await titles(db, "kubernetes") == []
    assert await titles(db, "pods") == []
    assert await titles(db, "nomad allocations") == ["Nomad notes"]
    await db.commit()
    assert await titles(db, "allocations") == ["Nomad notes"]


async def test_hits_hold_what_a_result_shows_and_no_more(db: AsyncSession) -> None:
    await publish(db, "Kubernetes", description="Pods.", tags=["Ops"], body="Kubernetes " * 50)
    db.expunge_all()
    (hit,) = (await search(db, "kubernetes")).hits
    assert (hit.post.title, hit.post.description, hit.post.slug) == (
        "Kubernetes",
        "Pods.",
        "kubernetes",
    )
    assert hit.post.published_at is not None and hit.post.excerpt
    # Neither the body (it can be long) nor the tags (not shown) are read into Python.
    for heavy in ("body", "body_html", "body_text", "tags"):
        with pytest.raises(InvalidRequestError):
            getattr(hit.post, heavy)


# --- snippets ------------------------------------------------------------------


async def test_snippet_marks_matches_and_escapes_the_text(db: AsyncSession) -> None:
    # As code, the tags are text a reader reads (raw HTML would be sanitised away).
    body = "Beware of `<script>alert('x')</script>` & friends when running kubernetes today."
    await publish(db, "Safety", body=body)
    (hit,) = (await search(db, "kubernetes")).hits
    assert isinstance(hit.snippet, Markup)
    assert "<mark>kubernetes</mark>" in hit.snippet
    assert "&lt;script&gt;" in hit.snippet and "&lt;/script&gt;" in hit.snippet
    assert "<script" not in hit.snippet and "&amp; friends" in hit.snippet
    assert hit.snippet.count("<mark>") == hit.snippet.count("</mark>") == 1


async def test_stemmed_and_prefixed_words_are_marked(db: AsyncSession) -> None:
    await publish(db, "Habits", body="Some mornings I go running in the park.")
    (hit,) = (await search(db, "run par")).hits
    assert "<mark>running</mark>" in hit.snippet and "<mark>park</mark>" in hit.snippet


async def test_an_author_cannot_forge_marks(db: AsyncSession) -> None:
    body = "Fake \ue000marks\ue001 and \ue002 and `<mark>tags</mark>` around kubernetes."
    await publish(db, "Forgery", body=body)
    (hit,) = (await search(db, "kubernetes")).hits
    assert hit.snippet.count("<mark>") == 1 and "<mark>kubernetes</mark>" in hit.snippet
    assert "&lt;mark&gt;tags&lt;/mark&gt;" in hit.snippet
    assert not set("\ue000\ue001") & set(hit.snippet)


async def test_snippet_falls_back_to_the_description_then_the_excerpt(db: AsyncSession) -> None:
    await publish(db, "Kubernetes <one>", description="A <b>short</b> one.", body="Other words.")
    await publish(db, "Kubernetes two", body="First paragraph here.\n\nSecond.", days_ago=2)
    snippets = {hit.post.title: hit.snippet for hit in (await search(db, "kubernetes")).hits}
    assert snippets == {
        "Kubernetes <one>": "A &lt;b&gt;short&lt;/b&gt; one.",
        "Kubernetes two": "First paragraph here. Second.",  # the excerpt: its opening words
    }


MARKDOWN = """\
## First section

Some *emphasised* words and a [link to the guide](https://docs.example/quuxguide) before
the **zeppelin** sails.[^1] Press <kbd>Ctrl</kbd> to <span class="x">hold</span> it.

![a zeppelin in its hangar](https://cdn.example/hangarphoto.png)

```haskell title="Zeppelin.hs" linenums="7"
main = putStrLn "zeppelin"
```

```console
$ launch --zeppelin
```

[^1]: Zeppelins were built at Friedrichshafen.
"""
# What the Markdown above writes around its words, that a reader never reads.
SYNTAX = ("```", "##", "section #", "![", "](", "*", "[^", "[1]", "↩", "$ ", "&lt;", "kbd", "http")


async def test_snippets_quote_what_a_reader_reads_not_the_markdown(db: AsyncSession) -> None:
    await publish(db, "Airships", body=MARKDOWN)
    for query in ("zeppelin", "guide", "emphasised", "first section", "hangar", "friedrichshafen"):
        (hit,) = (await search(db, query)).hits
        assert "<mark>" in hit.snippet, (query, hit.snippet)
        assert not [syntax for syntax in SYNTAX if syntax in hit.snippet], (query, hit.snippet)
    (hit,) = (await search(db, "zeppelin")).hits
    assert "<mark>zeppelin</mark>" in hit.snippet.lower()


async def test_code_is_found_by_its_text_and_not_by_its_prompts_or_numbers(
    db: AsyncSession,
) -> None:
    await publish(db, "Airships", body=MARKDOWN)
    (hit,) = (await search(db, "putStrLn")).hits
    assert "<mark>putStrLn</mark> &#34;zeppelin&#34;" in hit.snippet
    assert "7" not in hit.snippet, "the line number is drawn by CSS, not text"
    (hit,) = (await search(db, "launch")).hits
    assert "$" not in hit.snippet and "<mark>launch</mark> --zeppelin" in hit.snippet


async def test_words_only_in_addresses_or_syntax_are_not_found(db: AsyncSession) -> None:
    await publish(db, "Airships", body=MARKDOWN)
    # The image's file, the link's address, the code's language, the footnote's label.
    for query in ("hangarphoto", "quuxguide", "cdn", "haskell", "fn1", "fnref1", "kbd"):
        assert await titles(db, query) == [], query


# --- pages ---------------------------------------------------------------------


async def test_results_are_paged(db: AsyncSession) -> None:
    for number in range(12):
        await publish(db, f"Widget {number}", days_ago=number + 1)
    first = await search(db, "widget", per_page=5)
    third = await search(db, "widget", page=3, per_page=5)
    assert (first.page, len(first.hits), first.has_next) == (1, 5, True)
    assert (third.page, len(third.hits), third.has_next) == (3, 2, False)
    every = [
        hit.post.title
        for n in (1, 2, 3)
        for hit in (await search(db, "widget", page=n, per_page=5)).hits
    ]
    assert every == [f"Widget {number}" for number in range(12)]
    exact = await search(db, "widget", page=2, per_page=6)
    assert len(exact.hits) == 6 and not exact.has_next


async def test_every_hit_of_every_page_has_its_snippet(db: AsyncSession) -> None:
    for number in range(7):
        await publish(db, f"Note {number}", days_ago=number + 1, body=f"A widget, number {number}.")
    for page in (1, 2):
        found = await search(db, "widget", page=page, per_page=3)
        assert len(found.hits) == 3 and found.has_next
        assert all("<mark>widget</mark>" in hit.snippet for hit in found.hits), found.hits
    (last,) = (await search(db, "widget", page=3, per_page=3)).hits
    assert last.post.title == "Note 6" and "<mark>widget</mark>" in last.snippet


async def test_page_numbers_are_clamped(db: AsyncSession) -> None:
    await publish(db, "Widget")
    assert (await search(db, "widget", page=0)).page == 1
    assert [h.post.title for h in (await search(db, "widget", page=-5)).hits] == ["Widget"]
    far = await search(db, "widget", page=10**30)
    assert far.page == MAX_PAGE and far.hits == [] and not far.has_next


async def test_one_statement_whatever_the_number_of_hits(
    db: AsyncSession, statements: StatementLog
) -> None:
    for number in range(6):
        await publish(db, f"Widget {number}", tags=["Ops", f"Tag {number}"])
    db.expunge_all()
    statements.clear()
    assert len((await search(db, "widget", per_page=5)).hits) == 5
    # The search; on PostgreSQL, the plan setting first.
    expected = 2 if db.get_bind().dialect.name == "postgresql" else 1
    assert len(statements) == expected, statements


async def test_without_snippets_the_same_hits_come_and_no_body_is_read(
    db: AsyncSession, statements: StatementLog
) -> None:
    for number in range(4):
        await publish(db, f"Widget {number}", body="A widget, and more widgets.", days_ago=number)
    await publish(db, "Kubernetes in anger", body="Pods and more pods.")
    for query, typing in (("widget", False), ("widg", True), ("kuber", False)):
        whole = await search(db, query, per_page=3, typing=typing)
        bare = await search(db, query, per_page=3, typing=typing, snippets=False)
        assert [h.post.title for h in bare.hits] == [h.post.title for h in whole.hits], query
        assert (bare.has_next, bare.widened) == (whole.has_next, whole.widened), query
        assert all(hit.snippet == "" for hit in bare.hits), query
        assert all(hit.snippet for hit in whole.hits), query
    statements.clear()
    await search(db, "widget", snippets=False)
    searched = statements[-1]  # on PostgreSQL, after the plan setting
    assert "snippet(" not in searched and "ts_headline" not in searched.lower()
    assert "body" not in searched.lower()


async def test_a_widened_search_costs_one_search_more(
    db: AsyncSession, statements: StatementLog
) -> None:
    await publish(db, "Widget", tags=["Ops"])
    db.expunge_all()
    statements.clear()
    assert (await search(db, "widg")).widened
    # The whole words, then the prefix; on PostgreSQL, the plan setting before each.
    expected = 4 if db.get_bind().dialect.name == "postgresql" else 2
    assert len(statements) == expected, statements


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_postgresql_plans_a_search_for_its_own_words(db: AsyncSession) -> None:
    await publish(db, "Widget")
    await search(db, "widget")
    setting = await db.scalar(text("SHOW plan_cache_mode"))
    assert setting == "force_custom_plan"
    await db.commit()
    assert await db.scalar(text("SHOW plan_cache_mode")) == "auto", "for this transaction only"


async def test_a_query_without_words_does_not_touch_the_database(
    db: AsyncSession, statements: StatementLog
) -> None:
    found = await search(db, ' "*" -- () ^: 😀 ')
    assert found == SearchPage(query="", hits=[], page=1, has_next=False)
    assert statements.count == 0, statements


# --- any query at all ------------------------------------------------------------

HOSTILE = [
    "",
    " ",
    '"',
    '""',
    '"unbalanced',
    "'",
    "a AND OR NOT b",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "NEAR(a b)",
    "NEAR(kubernetes pods, 2)",
    "kubernetes NOT pods",
    "*",
    "kuber*",
    "* kubernetes",
    "title:kubernetes",
    "title:",
    "{title body}: kubernetes",
    "^kubernetes",
    "-minus",
    "- -- ---",
    "+plus",
    "(((",
    ")",
    "a & b | !c <-> d:*",
    "'quoted' & \\'escaped\\'",
    "kubernetes:*A",
    "x" * 10_000,
    "kubernetes " * 2_000,
    "\x00",
    "\x00\x01\x1f control \x7f",
    "kube\x00rnetes",
    "\t\n\r\x0b\x0c",
    "\ud800",
    "\udfff lone \ud800 surrogates",
    "kubernetes\ud83d",
    "\ue000 \ue001 markers \ue002",
    "😀 emoji",
    "👩‍👩‍👧‍👦",
    "検索 テスト",
    "中文搜索",
    "한국어",
    "हिन्दी",
    "ภาษาไทย",
    "العربية ١٢٣",
    "עברית",
    "İstanbul ß ﬁle Ⅷ ½ ²",
    "e\u0301",
    "\u0301",
    "\u0301\u0302\u0303",
    "\u200b\u200d\ufeff",
    "\u202e right-to-left",
    "_",
    "___",
    "snake_case_word",
    "the and of",
    "the",
    "a",
    "0",
    "1e10 3.14 -1",
    "'; DROP TABLE posts; --",
    "%",
    "%_\\",
    "<script>alert(1)</script>",
    "&amp; &lt;",
    "\U0010ffff \U000e0001",
    "\ufffd",
]


@pytest.mark.parametrize("query", HOSTILE)
async def test_no_query_fails(db: AsyncSession, query: str) -> None:
    await publish(db, "Kubernetes in anger", body="Pods, the and of, 検索, é, snake_case_word.")
    found = await search(db, query)
    assert isinstance(found, SearchPage)
    assert found.query == " ".join(terms(query))
    assert all(isinstance(hit.snippet, Markup) for hit in found.hits)


async def test_random_queries_never_fail(db: AsyncSession) -> None:
    await publish(db, "Kubernetes in anger", body="Pods and more pods, 検索 and émigrés.")
    rng = random.Random(20261125)
    for _ in range(200):
        length = rng.randint(1, 40)
        query = "".join(
            chr(rng.choice((rng.randrange(0x80), rng.randrange(0x110000)))) for _ in range(length)
        )
        assert isinstance(await search(db, query), SearchPage), repr(query)


async def test_junk_around_words_still_finds_them(db: AsyncSession) -> None:
    await publish(db, "Kubernetes in anger", body="Pods and more pods.")
    found = await search(db, '«Kubernetes»!! AND\x00 "pods"*')
    assert found.query == "Kubernetes AND pods"
    # "and" is a word of the body on SQLite, and a stop word on PostgreSQL.
    assert [hit.post.title for hit in found.hits] == ["Kubernetes in anger"]


# --- words -------------------------------------------------------------------------


def test_terms_keep_letters_digits_and_marks_only() -> None:
    assert terms(' "Hello," she said -- (twice)* ') == ["Hello", "she", "said", "twice"]
    assert terms("snake_case \ud800x 😀y") == ["snake", "case", "x", "y"]
    assert terms("e\u0301t\u00e9 ﬁle") == ["été", "file"], "NFKC: composed, ligature undone"
    assert terms("हिन्दी") == ["हिन्दी"]
    assert terms("\u0301 \x00 \ue000") == []


def test_terms_are_capped() -> None:
    assert len(terms("word " * 1000)) == MAX_TERMS
    assert terms("x" * 1000) == ["x" * MAX_TERM_LENGTH]
    assert terms(" ".join(terms("a b " * 50))) == terms("a b " * 50)
