"""Fetching other sites (components/fetch.py): public addresses only unless the test
setting says otherwise, redirects checked and counted, bodies and time limited."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import pytest

from components import fetch
from components.settings import ConfigError, load_config

from .conftest import TEST_SECRET
from .webpages import Page, Site, website


@pytest.fixture
def web() -> Iterator[Site]:
    with website() as site:
        yield site


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "192.168.1.1",
        "172.16.0.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "100.64.0.1",
        "0.0.0.0",
        "::ffff:127.0.0.1",
        "224.0.0.1",
        "fc00::1",
        # IPv4 inside IPv6: NAT64, 6to4, IPv4-compatible and -translated, site-local, Teredo.
        "64:ff9b::7f00:1",
        "2002:7f00:1::1",
        "::127.0.0.1",
        "::ffff:0:7f00:1",
        "fec0::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    ],
)
def test_private_loopback_and_link_local_addresses_are_not_public(address: str) -> None:
    assert not fetch.is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"])
def test_public_addresses_are(address: str) -> None:
    assert fetch.is_public(address)


async def test_a_loopback_address_is_refused_without_the_test_setting(web: Site) -> None:
    web.pages["/"] = Page(body=b"secret")
    async with fetch.client() as http:
        with pytest.raises(fetch.Refused, match="private, loopback or link-local"):
            await fetch.get(http, web.url + "/")
        with pytest.raises(fetch.Refused, match="private, loopback or link-local"):
            await fetch.get(http, f"http://localhost:{web.port}/")
    async with fetch.client(allow_private=True) as http:
        assert (await fetch.get(http, web.url + "/")).body == b"secret"


async def test_every_redirect_is_checked_again(web: Site) -> None:
    """127.0.0.1 stands for a public site and 127.0.0.2 for a private one: the redirect
    from the first to the second is refused before any connection is made."""
    web.pages["/hop"] = Page(302, headers={"Location": f"http://127.0.0.2:{web.port}/admin"})
    async with fetch.client(allowed=lambda address: address == "127.0.0.1") as http:
        with pytest.raises(fetch.Refused, match=r"127\.0\.0\.2 is a private"):
            await fetch.get(http, web.url + "/hop")
    for bad in ("file:///etc/passwd", "gopher://x/", "http://user:pw@example.com/", "nonsense"):
        with pytest.raises(fetch.Refused):
            fetch.check_url(bad)


async def test_redirects_are_followed_a_few_times_only(web: Site) -> None:
    for number in range(5):
        web.pages[f"/r{number}"] = Page(302, headers={"Location": f"/r{number + 1}"})
    web.pages["/r5"] = Page(body=b"end")
    web.pages["/r3"] = Page(body=b"three")
    async with fetch.client(allow_private=True) as http:
        found = await fetch.get(http, web.url + "/r0")
        assert found.body == b"three" and found.url.endswith("/r3")
        web.pages["/r3"] = Page(302, headers={"Location": "/r4"})
        with pytest.raises(fetch.Refused, match="more than 3 redirects"):
            await fetch.get(http, web.url + "/r0")


async def test_a_large_or_slow_answer_is_cut_off(web: Site) -> None:
    web.pages["/big"] = Page(body=b"x" * 2_000_000)
    web.pages["/slow"] = Page(body=b"late", delay=3)
    async with fetch.client(allow_private=True) as http:
        with pytest.raises(fetch.Refused, match="larger than 1,000,000 bytes"):
            await fetch.get(http, web.url + "/big")
        with pytest.raises(fetch.Refused, match=r"no answer within 0\.5 seconds"):
            await fetch.get(http, web.url + "/slow", seconds=0.5)


async def test_a_compressed_answer_is_not_unpacked(web: Site) -> None:
    """A few kilobytes of gzip can unpack to gigabytes: nothing is asked compressed, and
    what comes compressed anyway is counted as it came, not unpacked."""
    bomb = gzip.compress(b"\0" * 5_000_000)
    web.pages["/bomb"] = Page(body=bomb, headers={"Content-Encoding": "gzip"})
    async with fetch.client(allow_private=True) as http:
        found = await fetch.get(http, web.url + "/bomb")
    assert found.body == bomb and len(found.body) < 10_000


def test_the_test_setting_is_refused_in_production() -> None:
    with pytest.raises(ConfigError, match="QUIRE_FETCH_PRIVATE: only for tests"):
        load_config(
            {"SECRET_KEY": TEST_SECRET * 2, "QUIRE_ENV": "production", "QUIRE_FETCH_PRIVATE": "on"}
        )
