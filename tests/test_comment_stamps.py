"""The comment form's signed timestamp: ours, and how old."""

from __future__ import annotations

import pytest

from components.comments.stamps import STAMP_WINDOW_SECONDS, issue_stamp, stamp_age, window_stamp
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


def test_a_window_stamp_is_shared_within_its_second_and_never_young_enough_to_pass() -> None:
    issued = window_stamp(TEST_SECRET, 1000.25)
    assert window_stamp(TEST_SECRET, 1000.99) == issued
    assert window_stamp(TEST_SECRET, 1001.0) != issued
    # The age is overstated by less than the window: a form sent at once still looks
    # quicker than the lowest pace rule there is (1 second), and never younger than it is.
    for sent_after in (0.0, 0.5, 0.74):
        age = stamp_age(TEST_SECRET, issued, 1000.25 + sent_after)
        assert age is not None and sent_after <= age < sent_after + STAMP_WINDOW_SECONDS
        assert age < 1
