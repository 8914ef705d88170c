"""The search page and the header's live search, over HTTP."""

from __future__ import annotations

import asyncio
import re

import pytest

from components import search
from web.views import search as web_search

from .test_pages import PARTIAL, publish

LIVE = {**PARTIAL, "HX-Target": "div#search-live"}

HOSTILE = [
    '"',
    '"unbalanced',
    "a AND OR NOT b",
    "NEAR(a b)",
    "*",
    "title:foo",
    "^start",
    "-minus",
    "(((",
    "x" * 10_000,
    "\x00\x01\x1f control",
    "😀 emoji",
    "検索 テスト",
    "'; DROP TABLE posts; --",
    "%",
    "\u202e right-to-left",
]


async def test_results_page_ranks_and_highlights(client, db) -> None:
    await publish(db, "Kubernetes in anger", body="Pods and more pods.", days_ago=2)
    await publish(db, "Other things", body="Once I met kubernetes at a party.", days_ago=1)
    response = await client.get("/search?q=kubernetes")
    assert response.status_code == 200
    page = await response.get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    titles = re.findall(r'<h2 class="hit-title"><a href="[^"]+">([^<]+)</a>', page)
    assert titles == ["Kubernetes in anger", "Other things"]
    assert "<mark>kubernetes</mark>" in page.lower()
    assert 'value="kubernetes"' in page
    assert '<meta name="robots" content="noindex, follow">' in page


async def test_the_results_page_and_live_results_show_no_markdown(client, db) -> None:
    body = (
        "## First section\n\nThe *zeppelin* in its [hangar](https://docs.example/guide).[^1]\n\n"
        "![a zeppelin](https://cdn.example/zeppelin.png)\n\n"
        '```python\nprint("zeppelin")\n```\n\n[^1]: A note on zeppelins.\n'
    )
    await publish(db, "Airships", body=body)
    page = await (await client.get("/search?q=zeppelin")).get_data(as_text=True)
    (snippet,) = re.findall(r'<p class="hit-snippet">(.*?)</p>', page, re.DOTALL)
    assert "<mark>zeppelin</mark>" in snippet
    for syntax in ("```", "##", "![", "](", "*", "[^", "docs.example", "python"):
        assert syntax not in snippet, (syntax, snippet)
    # The header's live results are titles only: nothing of the text to show.
    live = await (await client.get("/search?q=zepp", headers=LIVE)).get_data(as_text=True)
    assert "Airships" in live and "zeppelin" not in live.lower()


async def test_live_search_returns_the_results_fragment(client, db) -> None:
    await publish(db, "Live results here")
    response = await client.get("/search?q=live", headers=LIVE)
    body = await response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in body and body.lstrip().startswith('<ul id="search-live-list"')
    assert "Live results here" in body
    empty = await client.get("/search?q=", headers=LIVE)
    # Nothing typed: no results, and an empty status line.
    assert (await empty.get_data(as_text=True)).strip() == (
        '<hx-partial data-hx-target="#search-live-status" data-hx-swap="innerHTML"></hx-partial>'
    )


async def test_live_results_take_the_last_word_as_typed_and_the_page_whole_words(
    client, db
) -> None:
    await publish(db, "Kube notes", body="Kube is short for it.", days_ago=2)
    await publish(db, "Kubernetes in anger", body="Pods and more pods.", days_ago=1)
    live = await (await client.get("/search?q=kube", headers=LIVE)).get_data(as_text=True)
    assert "Kube notes" in live and "Kubernetes in anger" in live
    page = await (await client.get("/search?q=kube")).get_data(as_text=True)
    assert "Kube notes" in page and "Kubernetes in anger" not in page
    assert "begin with" not in page
    # A word cut short and sent: what begins with it, and the page says so.
    cut = await (await client.get("/search?q=kuber")).get_data(as_text=True)
    assert "Kubernetes in anger" in cut and "Kube notes" not in cut
    assert "These have words that begin with “kuber”." in cut


async def test_live_results_are_a_few_titles_and_a_link_to_them_all(client, db) -> None:
    for number in range(7):
        await publish(db, f"Widget {number}", body="Widgets all the way down.", days_ago=number + 1)
    live = await (await client.get("/search?q=widg", headers=LIVE)).get_data(as_text=True)
    titles = re.findall(r'<a class="hit-title" href="[^"]+" tabindex="-1">([^<]+)</a>', live)
    assert titles == [f"Widget {number}" for number in range(web_search.LIVE_RESULTS)]
    assert "hit-snippet" not in live and "<mark>" not in live
    assert 'class="pager"' not in live
    assert '<a href="/search?q=widg">All results for “widg”</a>' in live
    # The page they lead to has them all, with their snippets, ten to a page.
    page = await (await client.get("/search?q=widget")).get_data(as_text=True)
    assert page.count('class="hit"') == 7 and page.count('class="hit-snippet"') == 7
    assert "All results" not in page
    # No link when the list already holds every hit.
    await publish(db, "Gadget notes")
    few = await (await client.get("/search?q=gadg", headers=LIVE)).get_data(as_text=True)
    assert few.count('class="hit"') == 1 and "All results" not in few


async def test_header_search_box_is_live_and_works_without_js(client) -> None:
    page = await (await client.get("/")).get_data(as_text=True)
    form = page[page.index('<form class="site-search"') : page.index("</form>")]
    assert 'action="/search" method="get"' in form
    assert 'data-hx-sync="this:replace"' in form and "delay:" in form
    assert 'data-hx-target="#search-live"' in form


async def test_nothing_found_is_friendly(client, db) -> None:
    await publish(db, "Something")
    page = await (await client.get("/search?q=zzyzx")).get_data(as_text=True)
    assert "Nothing found for “zzyzx”" in page


async def test_results_paginate(client, db) -> None:
    for number in range(12):
        await publish(db, f"Widget {number}", days_ago=number + 1)
    first = await (await client.get("/search?q=widget")).get_data(as_text=True)
    assert first.count('class="hit"') == 10
    assert 'href="/search?q=widget&amp;page=2"' in first
    second = await (await client.get("/search?q=widget&page=2")).get_data(as_text=True)
    assert second.count('class="hit"') == 2
    assert "Previous results" in second and "More results" not in second
    nonsense = await client.get("/search?q=widget&page=banana")
    assert nonsense.status_code == 200


async def test_results_say_when_only_the_newest_matches_were_ranked(
    client, db, monkeypatch
) -> None:
    monkeypatch.setattr(search, "CANDIDATES", 2)
    for number in range(3):
        await publish(db, f"Widget {number}", days_ago=number + 1)
    page = await (await client.get("/search?q=widget")).get_data(as_text=True)
    assert page.count('class="hit"') == 2
    assert "2 posts or more match: these are the best of the newest 2." in page
    monkeypatch.setattr(search, "CANDIDATES", 4)
    await publish(db, "Gadget")  # a write, so that the page is made again
    page = await (await client.get("/search?q=widget")).get_data(as_text=True)
    assert page.count('class="hit"') == 3 and "or more match" not in page


async def test_a_worker_runs_few_searches_at_once(client, db, monkeypatch) -> None:
    running, most = 0, 0
    real = search.search

    async def slow_search(*args, **kwargs):
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            await asyncio.sleep(0.05)
            return await real(*args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(search, "search", slow_search)
    await publish(db, "Widget")
    answers = await asyncio.gather(*(client.get(f"/search?q=widget+{n}") for n in range(6)))
    assert [answer.status_code for answer in answers] == [200] * 6
    assert most == web_search.SEARCHES_AT_ONCE == 2


@pytest.mark.parametrize("query", HOSTILE, ids=range(len(HOSTILE)))
async def test_no_query_ever_fails(client, db, query) -> None:
    await publish(db, "A post about anything", body="Some text with words.")
    for headers in ({}, LIVE):
        response = await client.get("/search", query_string={"q": query}, headers=headers)
        if "\x00" in query:
            # What no database can search for is refused before the search, and said.
            assert response.status_code == 400, query
            assert "holds a NUL character" in await response.get_data(as_text=True)
            continue
        assert response.status_code == 200, query


async def test_live_results_are_a_listbox_the_box_controls_with_a_count_to_hear(client, db) -> None:
    for number in range(2):
        await publish(db, f"Widget {number}", body="Widgets.", days_ago=number + 1)
    page = await (await client.get("/")).get_data(as_text=True)
    box = page[page.index('<input id="site-search-q"') :]
    box = box[: box.index(">")]
    assert 'role="combobox"' in box and 'aria-controls="search-live"' in box
    assert 'aria-expanded="false"' in box and 'aria-autocomplete="list"' in box
    assert '<p id="search-live-status" class="visually-hidden" role="status"></p>' in page
    live = await (await client.get("/search?q=widg", headers=LIVE)).get_data(as_text=True)
    assert '<ul id="search-live-list" class="live-hits" role="listbox"' in live
    assert re.findall(r'<li id="(search-live-\d)" class="hit" role="option"', live) == [
        "search-live-1",
        "search-live-2",
    ]
    assert (
        '<hx-partial data-hx-target="#search-live-status" data-hx-swap="innerHTML">2 posts found'
        in live
    )
    none = await (await client.get("/search?q=zzzz", headers=LIVE)).get_data(as_text=True)
    assert 'role="listbox"' not in none and "0 posts found" in none
