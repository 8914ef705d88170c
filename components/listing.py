"""The admins' lists (subscribers, followers, accounts followed): how many rows are in
each state, and which page of them to show."""

from __future__ import annotations

import enum
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

State = TypeVar("State", bound=enum.Enum)

PAGE = 100


async def count_by(
    session: AsyncSession, column: InstrumentedAttribute[Any], states: type[State]
) -> dict[State, int]:
    """How many rows hold each of `states` in `column` (none is 0)."""
    rows = await session.execute(select(column, func.count()).group_by(column))
    counts = dict.fromkeys(states, 0)
    counts.update({found: count for found, count in rows})
    return counts


def page_of(asked: int, total: int, size: int = PAGE) -> tuple[int, int]:
    """The page to show of `total` rows (the one `asked`, within range), and how many
    pages there are (one, when there are no rows)."""
    pages = max(1, -(-total // size))
    return min(max(asked, 1), pages), pages
