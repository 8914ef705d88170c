"""What an admin list's address asks for: which page, and which state to show."""

from __future__ import annotations

import enum
from typing import TypeVar

from quart import abort, request

from components.text import parse_id

State = TypeVar("State", bound=enum.Enum)


def page_asked() -> int:
    """The page of the list asked for (`?page=`), the first unless a number is given."""
    return parse_id(request.args.get("page", "1")) or 1


def state_asked(states: type[State], noun: str) -> State | None:
    """The state the list is filtered by (`?state=`), None for all; 400 for one that
    `states` does not hold."""
    shown = request.args.get("state", "")
    if not shown:
        return None
    for state in states:
        if state.value == shown:
            return state
    abort(400, f"There is no {noun} state '{shown}'.")
