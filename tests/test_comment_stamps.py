"""The comment form's signed timestamp: ours, and how old."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeSerializer

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


def test_a_stamp_issued_before_the_v2_format_still_counts() -> None:
    """A form shown just before a deploy that changed the stamp's format still sends."""
    legacy = URLSafeSerializer(TEST_SECRET, salt="quire.comment-form").dumps({"t": 1000.0})
    assert stamp_age(TEST_SECRET, legacy, 1030.0) == pytest.approx(30.0)
    assert stamp_age("another-secret-of-some-length", legacy, 1030.0) is None
    wrong = URLSafeSerializer(TEST_SECRET, salt="quire.comment-form").dumps({"t": "soon"})
    assert stamp_age(TEST_SECRET, wrong, 1030.0) is None
