"""Fetching other sites' pages (a Webmention's source, a target's endpoint) safely.

Another site's address can be made to point anywhere: at this machine's loopback, at a
database on the private network, at a cloud's metadata service. So every connection is
made to an address checked first: the host is resolved once, every address it gives
must be public (`ipaddress.is_global`), and the connection goes to that very address,
so a second lookup cannot swap it (DNS rebinding). Redirects are followed by hand, a few
at most, each one checked again; bodies are cut at a size, and every fetch has a time.

Tests fetch from 127.0.0.1 under the explicit QUIRE_FETCH_PRIVATE setting; nothing else
turns the check off.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

MAX_REDIRECTS = 3
MAX_BYTES = 1_000_000
SECONDS = 10.0
USER_AGENT = "Quire (a blog engine; Webmention)"


# Headers that sign a GET of an address (HTTP Signatures, for servers that ask for them).
Signer = Callable[[str], Awaitable[Mapping[str, str]]]


class Refused(Exception):
    """The fetch was not made or not finished: says why (an address, a size, a time).
    `permanent` when trying again cannot help (a private address, a name that does not
    resolve, a page too large); a timeout or a refused connection may pass."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def text(self) -> str:
        charset = httpx.Response(200, headers=self.headers).charset_encoding or "utf-8"
        return self.body.decode(charset, errors="replace")

    @property
    def links(self) -> dict[str | None, dict[str, str]]:
        """The Link header's links by rel."""
        return httpx.Response(200, headers=self.headers).links


# IPv6 ranges that carry an IPv4 address inside (NAT64, 6to4, Teredo, IPv4-compatible
# and -translated) or are deprecated site-local: on some networks they lead to private
# IPv4 addresses, and no public web page needs them.
_TRANSITION = tuple(
    ipaddress.ip_network(network)
    for network in (
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2002::/16",
        "2001::/32",
        "::/96",
        "::ffff:0:0:0/96",
        "fec0::/10",
    )
)


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif any(ip in network for network in _TRANSITION):
            return False
    return ip.is_global and not ip.is_multicast


class _CheckedBackend(httpcore.AsyncNetworkBackend):
    """Connections only to public addresses, to the address that was checked."""

    def __init__(self, allowed: Callable[[str], bool]) -> None:
        self.allowed = allowed
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as error:
            raise Refused(f"{host} does not resolve ({error.strerror})", permanent=True) from None
        addresses = [str(info[4][0]) for info in found]
        allowed = [address for address in addresses if self.allowed(address)]
        if not allowed:
            raise Refused(
                f"{host} is a private, loopback or link-local address: not fetched",
                permanent=True,
            )
        return await self.inner.connect_tcp(
            allowed[0], port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Any = None,
    ) -> httpcore.AsyncNetworkStream:
        raise Refused("no local sockets", permanent=True)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _Transport(httpx.AsyncHTTPTransport):
    def __init__(self, allowed: Callable[[str], bool]) -> None:
        super().__init__(trust_env=False, retries=0)
        # httpx has no setting for the network backend; its pool is built again with ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=20,
            max_keepalive_connections=0,
            network_backend=_CheckedBackend(allowed),
        )


def client(
    *, allow_private: bool = False, allowed: Callable[[str], bool] | None = None
) -> httpx.AsyncClient:
    """An HTTP client that reaches public addresses only (and no proxy from the
    environment), follows no redirect by itself, and says who it is. `allowed` replaces
    the check (tests: one loopback address and not another)."""
    check = allowed or ((lambda _address: True) if allow_private else is_public)
    return httpx.AsyncClient(
        transport=_Transport(check),
        follow_redirects=False,
        timeout=httpx.Timeout(SECONDS),
        # No compression: a few kilobytes of brotli can unpack to gigabytes before a size
        # check sees them. Bodies are read raw (see _read).
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
    )


def check_url(url: str) -> str:
    """An http(s) address without user info; else Refused."""
    try:
        parts = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise Refused(f"not an address: {url[:200]!r}", permanent=True) from None
    if parts.scheme not in ("http", "https") or not parts.host:
        raise Refused(
            f"only http and https addresses are fetched, not {url[:200]!r}", permanent=True
        )
    if parts.userinfo:
        raise Refused("an address with a user name or password is not fetched", permanent=True)
    return str(parts)


async def get(
    http: httpx.AsyncClient,
    url: str,
    *,
    accept: str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    max_bytes: int = MAX_BYTES,
    seconds: float = SECONDS,
    sign: Signer | None = None,
) -> Fetched:
    """GET `url`, following at most MAX_REDIRECTS redirects, reading at most `max_bytes`
    within `seconds` in all; each request signed by `sign` if given. Raises Refused."""
    try:
        async with asyncio.timeout(seconds):
            return await _get(http, check_url(url), accept, max_bytes, sign)
    except TimeoutError:
        raise Refused(f"no answer within {seconds:g} seconds") from None


async def _get(
    http: httpx.AsyncClient, url: str, accept: str, max_bytes: int, sign: Signer | None
) -> Fetched:
    for _ in range(MAX_REDIRECTS + 1):
        headers = {"Accept": accept, **(await sign(url) if sign is not None else {})}
        try:
            async with http.stream("GET", url, headers=headers) as response:
                if response.is_redirect and "location" in response.headers:
                    url = check_url(str(response.url.join(response.headers["location"])))
                    continue
                body = await _read(response, max_bytes)
                return Fetched(str(response.url), response.status_code, response.headers, body)
        except httpx.HTTPError as error:
            # A connection error may carry the refusal of our own backend.
            permanent = isinstance(error.__context__, Refused) and error.__context__.permanent
            raise Refused(f"could not fetch it: {error}", permanent=permanent) from None
    raise Refused(f"more than {MAX_REDIRECTS} redirects", permanent=True)


async def _read(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise Refused(f"larger than {max_bytes:,} bytes", permanent=True)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        size += len(chunk)
        if size > max_bytes:
            raise Refused(f"larger than {max_bytes:,} bytes", permanent=True)
        chunks.append(chunk)
    return b"".join(chunks)


async def post_form(
    http: httpx.AsyncClient, url: str, data: Mapping[str, str], *, seconds: float = SECONDS
) -> int:
    """POST a form to `url` (no redirect followed); the status it answered."""
    return await _post(http, url, {"data": data}, seconds)


async def post_body(
    http: httpx.AsyncClient,
    url: str,
    body: bytes,
    *,
    headers: Mapping[str, str],
    seconds: float = SECONDS,
) -> int:
    """POST `body` with `headers` to `url` (no redirect followed); the status it answered."""
    return await _post(http, url, {"content": body, "headers": headers}, seconds)


async def _post(http: httpx.AsyncClient, url: str, what: dict[str, Any], seconds: float) -> int:
    try:
        async with asyncio.timeout(seconds):
            async with http.stream("POST", check_url(url), **what) as response:
                await _read(response, 64_000)
                return response.status_code
    except TimeoutError:
        raise Refused(f"no answer within {seconds:g} seconds") from None
    except httpx.HTTPError as error:
        raise Refused(f"could not post to it: {error}") from None
