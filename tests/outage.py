"""A TCP relay in front of the test PostgreSQL server, which a test can cut and restore:
an outage of the database for one app only, while the shared server runs on for
everyone else on the machine."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import make_url


class Relay:
    """Listens on 127.0.0.1 and pipes each connection to `host:port`."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.listening_port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._pipe, "127.0.0.1", self.listening_port, reuse_address=True
        )
        self.listening_port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """The database is gone: connections refused, those open reset."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        """Back on the same port, as a restarted server would be."""
        await self.start()

    def url_for(self, database_url: str) -> str:
        """`database_url`, reaching its database through this relay."""
        url = make_url(database_url).set(host="127.0.0.1", port=self.listening_port)
        return url.render_as_string(hide_password=False)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, upstream_writer))

        async def copy(source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    target.write(data)
                    await target.drain()
            target.transport.abort()

        await asyncio.gather(copy(reader, upstream_writer), copy(upstream_reader, writer))
        self._writers.difference_update((writer, upstream_writer))


@asynccontextmanager
async def relayed(database_url: str) -> AsyncIterator[Relay]:
    """A relay to the server of `database_url`, cut for good when the test ends."""
    url = make_url(database_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    await relay.start()
    try:
        yield relay
    finally:
        await relay.cut()
