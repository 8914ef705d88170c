"""The comment form's signed timestamp: when the form was shown, so that a comment can be
checked to come from a page of ours, sent at a person's pace (components/comments/intake)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import time

# A stamp is "<microseconds>.<mac>". Every post page sends one, so it is made with one HMAC
# over the time and no more: itsdangerous' serializer (JSON, key derivation and base64 on
# every call) took 27 us of the 1 ms or so that a kept post page costs to send.
_STAMP_SALT = b"quire.comment-form.v2"
_STAMP_MAC_BYTES = 16
_STAMP = re.compile(r"(\d{1,19})\.([0-9a-f]{32})")


@functools.cache
def _stamp_key(secret: str) -> bytes:
    return hashlib.sha256(_STAMP_SALT + secret.encode()).digest()


def _stamp_mac(secret: str, micros: str) -> str:
    return hmac.digest(_stamp_key(secret), micros.encode(), "sha256")[:_STAMP_MAC_BYTES].hex()


def issue_stamp(secret: str, now: float | None = None) -> str:
    """The signed moment a comment form was shown, for its hidden field."""
    micros = str(round((now if now is not None else time.time()) * 1_000_000))
    return f"{micros}.{_stamp_mac(secret, micros)}"


# Pages carry the stamp of the window they are sent in, its start: so a page compressed once
# serves every reader of the window (brotli cannot be spliced around a fresh stamp as gzip
# is, web/pages/coding.py). A form's age is then overstated by less than the window: one
# second, no more than the lowest pace rule but 0 (QUIRE_COMMENT_MIN_SECONDS, 3 by default),
# so a form sent at once is still refused.
STAMP_WINDOW_SECONDS = 1
clock = time.time  # what window_stamp reads when not told the time; tests set it


def window_stamp(secret: str, now: float | None = None) -> str:
    """The stamp of the window `now` falls in, the same for every answer in it."""
    moment = now if now is not None else clock()
    return issue_stamp(secret, moment - moment % STAMP_WINDOW_SECONDS)


def stamp_age(secret: str, stamp: str, now: float | None = None) -> float | None:
    """Seconds since the form with this stamp was shown; None when it is not ours."""
    now = now if now is not None else time.time()
    found = _STAMP.fullmatch(stamp)
    if found is None:
        return None
    micros, mac = found.groups()
    if not hmac.compare_digest(mac, _stamp_mac(secret, micros)):
        return None
    return now - int(micros) / 1_000_000
