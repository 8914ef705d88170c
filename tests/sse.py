"""Reading server-sent events in tests: from the Quart test client or from a real server."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Message:
    """One SSE block: what a browser's parser would make of it."""

    id: str | None = None
    data: str = ""
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def is_ping(self) -> bool:
        return self.id is None and not self.data and bool(self.comments)


def parse(block: str) -> Message:
    message = Message()
    data: list[str] = []
    for line in re.split(r"\r\n|\r|\n", block):
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "":
            message.comments.append(value)
        elif name == "id":
            message.id = value
        elif name == "data":
            data.append(value)
        elif name == "retry":
            message.retry = int(value)
    message.data = "\n".join(data)
    return message


# Only to end a hung test: a busy CI machine (load 7 to 14 on 2 cores) may take many
# seconds to send what an idle one sends at once.
DEADLINE = 60


class Reader:
    """Messages from a stream of byte chunks, one at a time, each within a deadline."""

    def __init__(self, chunks: Callable[[], Awaitable[bytes]]) -> None:
        self._chunks = chunks
        self._buffer = ""
        self.ended = False

    async def next(self, within: float = DEADLINE) -> Message:
        async with asyncio.timeout(within):
            while "\n\n" not in self._buffer:
                chunk = await self._chunks()
                if not chunk:
                    self.ended = True
                    raise EOFError("the stream ended")
                self._buffer += chunk.decode()
        block, self._buffer = self._buffer.split("\n\n", 1)
        return parse(block)

    async def next_event(self, within: float = DEADLINE) -> Message:
        """The next message that carries an id (skipping pings and the retry hint)."""
        async with asyncio.timeout(within):
            while True:
                message = await self.next(within)
                if message.id is not None:
                    return message


def from_httpx(chunks: AsyncIterator[bytes]) -> Reader:
    async def next_chunk() -> bytes:
        try:
            return await anext(chunks)
        except StopAsyncIteration:
            return b""

    return Reader(next_chunk)
