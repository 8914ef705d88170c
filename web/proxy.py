"""The PaaS router's forwarding headers, believed for as many hops as it is trusted.

Behind QUIRE_PROXY_HOPS routers, the client's address, the scheme and the host come
from X-Forwarded-For/-Proto/-Host ("legacy"), or from Forwarded ("modern"), reading
each header's values from the right: the nearest router's entry is the one it added,
and anything further left could have come from the client. With too few entries, the
connection's own value stands; in "modern" mode, X-Forwarded-* are never read.

This does the work of hypercorn's ProxyFixMiddleware (0.18), which deep-copies every
request's scope first. Measured on 2026-12-05 (20,000 calls, best of 5, a browser's eight
headers): 77 us a request for hypercorn's, 13 us for this one, on a machine where a
kept page takes a worker 1.5 ms; so hypercorn's would cost 5% of a kept page, this one
under 1%. A shallow copy is enough, since only the copy's own top-level keys are replaced.
Its "modern" mode also neither unquotes nor lowercases Forwarded's parameters, and it
falls back to X-Forwarded-* when Forwarded is missing, which a client can then forge.
"""

from __future__ import annotations

from typing import Any, Literal

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, HTTPScope, Scope, WebsocketScope

Mode = Literal["legacy", "modern"]


class ProxyFix:
    def __init__(self, app: Any, mode: Mode, trusted_hops: int) -> None:
        self.app = app
        self.mode = mode
        self.trusted_hops = trusted_hops

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        # Two comparisons, not `in`, so that the checker narrows the scope's type.
        if (scope["type"] == "http" or scope["type"] == "websocket") and self.trusted_hops:
            scope = self.fixed(scope)
        await self.app(scope, receive, send)

    def fixed(self, scope: HTTPScope | WebsocketScope) -> Any:
        """A copy of `scope` with what the trusted routers say about the request."""
        headers = scope["headers"]
        client = scheme = host = None
        if self.mode == "modern":
            forwarded = self._trusted(b"forwarded", headers) or ""
            for pair in forwarded.split(";"):
                name, _, value = pair.strip().partition("=")
                name, value = name.lower(), value.strip().strip('"')
                if name == "for":
                    client = value
                elif name == "proto":
                    scheme = value
                elif name == "host":
                    host = value
        else:
            client = self._trusted(b"x-forwarded-for", headers)
            scheme = self._trusted(b"x-forwarded-proto", headers)
            host = self._trusted(b"x-forwarded-host", headers)
        fixed: dict[str, Any] = dict(scope)
        if client:
            fixed["client"] = (client, 0)
        if scheme:
            fixed["scheme"] = scheme
        if host:
            fixed["headers"] = [
                *((name, value) for name, value in headers if name.lower() != b"host"),
                (b"host", host.encode("latin-1")),
            ]
        return fixed

    def _trusted(self, name: bytes, headers: Any) -> str | None:
        """The value the furthest trusted router gave `name`, or None with too few."""
        values = [
            part.decode("latin-1").strip()
            for header, value in headers
            if header.lower() == name
            for part in value.split(b",")
        ]
        return values[-self.trusted_hops] if len(values) >= self.trusted_hops else None
