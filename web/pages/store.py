"""Public pages kept in memory, one process's, for the current moment of the content.

A reader without cookies gets the same page as every other reader, so a public page, once
rendered and compressed, is kept and sent again until the content changes. When a page
is missing (after a write, every page is), the first request for it renders it and the
others that ask for it meanwhile wait for that one page rather than each rendering their own.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from components.clock import Moment

PAGES = "quire.pages"
Key = tuple[str, str, bool]  # host URL, path with query, fragment or page


@dataclass
class Entry:
    """A page: its headers, and its body cut where stamps go."""

    headers: list[tuple[str, str]]
    parts: list[bytes]
    encoded: dict[str, bytes] = field(default_factory=dict)  # whole bodies, when no stamps
    deflated: list[bytes] = field(default_factory=list)  # each part's blocks, with stamps
    head_crc: int = 0  # the CRC-32 of the first part
    stamped_br: tuple[bytes, bytes] | None = None  # (stamp, brotli body) of the newest window

    @property
    def stamped(self) -> bool:
        return len(self.parts) > 1

    @property
    def size(self) -> int:
        kept = (*self.parts, *self.encoded.values(), *self.deflated)
        if self.stamped_br is not None:
            kept += (self.stamped_br[1],)
        return sum(map(len, kept)) + 512  # and the headers, roughly


class Pages:
    """One process's pages for the current moment of the content, within a byte budget;
    the least recently used go first."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.kept_at: Moment | None = None  # the clock's reading the pages were rendered at
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._size = 0
        # Pages being rendered, by the request that renders them, for those that wait.
        self._flights: dict[tuple[Moment, Key], asyncio.Future[Entry | None]] = {}

    def get(self, moment: Moment, key: Key) -> Entry | None:
        if moment != self.kept_at:
            return None
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, moment: Moment, key: Key, entry: Entry) -> None:
        if moment != self.kept_at:
            # Newer content (or, from a request that read the clock earlier, older: then
            # the next request that reads the newer clock starts over again).
            self.clear()
            self.kept_at = moment
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= old.size
        self._entries[key] = entry
        self._size += entry.size
        self._evict()

    def clear(self) -> None:
        self._entries.clear()
        self._size = 0

    def count_extra(self, size: int) -> None:
        """A kept entry grew by `size` bytes (a body encoded for another coding)."""
        self._size += size
        self._evict()

    def _evict(self) -> None:
        while self._size > self.budget and self._entries:
            _, dropped = self._entries.popitem(last=False)
            self._size -= dropped.size

    def join_or_render(self, moment: Moment, key: Key) -> asyncio.Future[Entry | None] | None:
        """The page being rendered for (moment, key) by another request, to wait for; or
        None, and then the caller renders it and must call `rendered` when it is done."""
        flight = self._flights.get((moment, key))
        if flight is None:
            self._flights[(moment, key)] = asyncio.get_running_loop().create_future()
        return flight

    def rendered(self, moment: Moment, key: Key, entry: Entry | None) -> None:
        """The page for (moment, key) is rendered (None: it is not to be kept; those who
        waited render their own)."""
        flight = self._flights.pop((moment, key), None)
        if flight is not None and not flight.done():
            flight.set_result(entry)
