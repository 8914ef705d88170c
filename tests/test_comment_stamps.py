"""The comment form's signed timestamp: ours, and how old."""

from __future__ import annotations

import pytest

from components.comments.stamps import issue_stamp, stamp_age
from tests.conftest import TEST_SECRET


def test_a_stamp_is_ours_and_knows_its_age() -> None:
    issued = issue_stamp(TEST_SECRET, 1000.0)
    assert stamp_age(TEST_SECRET, issued, 1012.5) == pytest.approx(12.5)
    assert stamp_age("another-secret-of-some-length", issued, 1012.5) is None
    assert stamp_age(TEST_SECRET, "forged", 1012.5) is None
    micros, mac = issued.split(".")
    # Another moment under the same signature, or a signature changed by one digit.
    assert stamp_age(TEST_SECRET, f"{int(micros) - 60_000_000}.{mac}", 1012.5) is None
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    assert stamp_age(TEST_SECRET, f"{micros}.{flipped}", 1012.5) is None
