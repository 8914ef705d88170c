"""Brotli and gzip for text responses, negotiated from Accept-Encoding (web/compression.py)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable

import brotli
import pytest
from quart import Quart, Response
from werkzeug.http import parse_accept_header

from components import demo
from web.assets import asset_url
from web.compression import STATIC_CACHE, compress, negotiate

DECODERS: dict[str, Callable[[bytes], bytes]] = {"br": brotli.decompress, "gzip": gzip.decompress}
REFUSED = "br;q=0, gzip;q=0"


@pytest.fixture
async def urls(app: Quart, client, db) -> dict[str, str]:
    """The home page with the demo posts, and two fingerprinted static files."""
    await demo.load(db)
    await db.commit()
    async with app.test_request_context("/"):
        return {
            "home": "/",
            "css": asset_url("css/quire.css"),
            "htmx": asset_url("vendor/htmx.min.js"),
        }


def vary(response: Response) -> set[str]:
    return {value.lower() for value in response.vary}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("br", "br"),
        ("gzip", "gzip"),
        ("gzip, deflate, br, zstd", "br"),
        ("*", "br"),
        ("gzip;q=1, br;q=0.5", "gzip"),
        ("br;q=0, *", "gzip"),
        ("BR;Q=0.1", "br"),
        ("deflate", None),
        ("identity", None),
        (REFUSED, None),
        ("", None),
    ],
)
def test_negotiation_respects_q_values(header: str, expected: str | None) -> None:
    assert negotiate(parse_accept_header(header)) == expected


@pytest.mark.parametrize("name", ["home", "css", "htmx"])
@pytest.mark.parametrize("coding", ["br", "gzip"])
async def test_text_is_compressed_as_asked(client, urls, name: str, coding: str) -> None:
    identity = await client.get(urls[name])
    response = await client.get(urls[name], headers={"Accept-Encoding": coding})
    assert response.status_code == identity.status_code == 200
    assert response.headers["Content-Encoding"] == coding
    body = await response.get_data()
    assert int(response.headers["Content-Length"]) == len(body)
    assert DECODERS[coding](body) == await identity.get_data()
    assert len(body) < len(await identity.get_data()) / 2
    assert "accept-encoding" in vary(response)
    assert response.headers["Content-Type"] == identity.headers["Content-Type"]


@pytest.mark.parametrize("name", ["home", "css"])
@pytest.mark.parametrize("headers", [{}, {"Accept-Encoding": REFUSED}])
async def test_identity_when_no_coding_is_acceptable(client, urls, name: str, headers) -> None:
    response = await client.get(urls[name], headers=headers)
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    body = await response.get_data()
    assert int(response.headers["Content-Length"]) == len(body)
    compressed = await client.get(urls[name], headers={"Accept-Encoding": "br"})
    assert body == brotli.decompress(await compressed.get_data())
    assert "accept-encoding" in vary(response), "a cache must not reuse it for other clients"
    assert not response.headers["ETag"].startswith("W/")


async def test_htmx_vary_values_are_kept(client, urls) -> None:
    response = await client.get("/", headers={"Accept-Encoding": "br"})
    assert {"hx-request", "hx-request-type", "accept-encoding"} <= vary(response)


async def test_small_responses_are_sent_as_they_are(client) -> None:
    response = await client.get("/healthz", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert (await response.get_json())["status"] == "ok"


async def test_error_pages_are_compressed(client) -> None:
    response = await client.get("/no/such/page", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 404
    assert response.headers["Content-Encoding"] == "gzip"
    assert b"There is nothing at this address" in gzip.decompress(await response.get_data())


@pytest.mark.parametrize("name", ["home", "css"])
@pytest.mark.parametrize("coding", ["br", "gzip"])
async def test_etag_round_trip_gives_304(client, urls, name: str, coding: str) -> None:
    identity = await client.get(urls[name])
    first = await client.get(urls[name], headers={"Accept-Encoding": coding})
    etag = first.headers["ETag"]
    assert etag == f"W/{identity.headers['ETag']}", "weak: not the identity bytes"

    again = await client.get(urls[name], headers={"Accept-Encoding": coding, "If-None-Match": etag})
    assert again.status_code == 304
    assert await again.get_data() == b""
    assert "Content-Encoding" not in again.headers
    assert again.headers["ETag"] == etag, "a 304 carries the tag of the 200 it confirms"
    assert "accept-encoding" in vary(again)

    # A tag from before compression (or from a cache in between) still matches.
    strong = await client.get(
        urls[name], headers={"Accept-Encoding": coding, "If-None-Match": identity.headers["ETag"]}
    )
    assert strong.status_code == 304


async def test_head_is_not_compressed(client, urls) -> None:
    identity = await client.get("/")
    response = await client.head("/", headers={"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.headers["Content-Length"] == identity.headers["Content-Length"]
    assert "accept-encoding" in vary(response)


async def test_static_files_are_compressed_once(app: Quart, client, urls) -> None:
    for _ in range(2):
        response = await client.get(urls["htmx"], headers={"Accept-Encoding": "br"})
        assert response.headers["Content-Encoding"] == "br"
    cached = app.extensions[STATIC_CACHE]
    assert [(path.name, coding) for path, coding in cached] == [("htmx.min.js", "br")]


async def test_event_streams_are_never_compressed_nor_buffered(app: Quart) -> None:
    sent: list[int] = []

    async def stream() -> AsyncIterator[bytes]:
        for number in range(3):
            sent.append(number)
            yield f"data: {'x' * 400} {number}\n\n".encode()
            await asyncio.sleep(0)

    async with app.test_request_context("/events", headers={"Accept-Encoding": "br, gzip"}):
        response = Response(stream(), mimetype="text/event-stream")
        assert await compress(response) is response
    assert sent == [], "not a byte read before it is sent"
    assert "Content-Encoding" not in response.headers

    app.add_url_rule("/events", view_func=lambda: Response(stream(), mimetype="text/event-stream"))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        response = await client.get("/events", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    body = await response.get_data()
    assert body.count(b"data: ") == 3 and body.endswith(b" 2\n\n")
