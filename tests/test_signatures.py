"""HTTP Signatures (components/activitypub/signatures.py): what is signed checks out, and
every way a request can be forged, altered, replayed or half-signed is refused, each
with its own reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from components.activitypub import signatures
from components.activitypub.signatures import BadSignature

URL = "https://blog.example/ap/inbox?page=1"
HOST = "blog.example"
BODY = b'{"type": "Follow"}'
NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pair() -> signatures.KeyPair:
    return signatures.new_key_pair()


@pytest.fixture(scope="module")
def other() -> signatures.KeyPair:
    return signatures.new_key_pair()


def signed(pair: signatures.KeyPair, body: bytes | None = BODY, **extra: str) -> dict[str, str]:
    headers = signatures.sign(
        "POST" if body is not None else "GET",
        URL,
        key_id="https://remote.example/users/lin#main-key",
        private_pem=pair.private_pem,
        body=body,
        now=NOW,
    )
    return {**headers, "Content-Type": "application/activity+json", **extra}


def test_a_signed_post_and_get_check_out(pair: signatures.KeyPair) -> None:
    headers = signed(pair)
    assert headers["Host"] == "blog.example"
    assert headers["Date"] == "Sun, 06 Dec 2026 10:00:00 GMT"
    assert headers["Digest"].startswith("SHA-256=")
    assert 'headers="(request-target) host date digest"' in headers["Signature"]
    found = signatures.verify(
        "POST",
        "/ap/inbox?page=1",
        headers,
        BODY,
        pair.public_pem,
        host=HOST,
        now=NOW + timedelta(minutes=5),
    )
    assert found.key_id == "https://remote.example/users/lin#main-key"

    get = signed(pair, body=None)
    assert "Digest" not in get
    signatures.verify("GET", "/ap/inbox?page=1", get, b"", pair.public_pem, host=HOST, now=NOW)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h, b: ({k: v for k, v in h.items() if k != "Signature"}, b), "not signed"),
        (lambda h, b: (h, b + b" "), "Digest header does not match"),
        (lambda h, b: ({**h, "Date": "Sun, 06 Dec 2026 07:00:00 GMT"}, b), "may be a replay"),
        (lambda h, b: ({**h, "Date": "yesterday"}, b), "Date header is missing or malformed"),
        (lambda h, b: ({**h, "Host": "elsewhere.example"}, b), "signed for another host"),
        (
            lambda h, b: ({**h, "Signature": h["Signature"].replace(" digest", "")}, b),
            "does not cover digest",
        ),
        (
            lambda h, b: ({**h, "Signature": h["Signature"].replace("rsa-sha256", "hmac-sha1")}, b),
            "algorithm 'hmac-sha1' is not accepted",
        ),
        (lambda h, b: ({**h, "Signature": 'keyId="x"'}, b), "names no keyId or no signature"),
        (
            lambda h, b: ({**h, "Signature": h["Signature"][:-10] + 'AAAA!!!"'}, b),
            "not base64",
        ),
    ],
)
def test_a_request_altered_replayed_or_half_signed_is_refused(
    pair: signatures.KeyPair, change: object, reason: str
) -> None:
    headers, body = change(signed(pair), BODY)  # type: ignore[operator]
    with pytest.raises(BadSignature, match=reason):
        signatures.verify(
            "POST", "/ap/inbox?page=1", headers, body, pair.public_pem, host=HOST, now=NOW
        )


def test_another_path_or_another_key_does_not_check_out(
    pair: signatures.KeyPair, other: signatures.KeyPair
) -> None:
    headers = signed(pair)
    with pytest.raises(BadSignature, match="does not match"):
        signatures.verify("POST", "/ap/inbox", headers, BODY, pair.public_pem, host=HOST, now=NOW)
    with pytest.raises(BadSignature, match="does not match"):
        signatures.verify(
            "POST", "/ap/inbox?page=1", headers, BODY, other.public_pem, host=HOST, now=NOW
        )
    with pytest.raises(BadSignature, match="cannot be read"):
        signatures.verify(
            "POST", "/ap/inbox?page=1", headers, BODY, "not a key", host=HOST, now=NOW
        )


def test_a_signature_naming_a_header_the_request_lacks_is_refused(
    pair: signatures.KeyPair,
) -> None:
    headers = signed(pair)
    headers["Signature"] = headers["Signature"].replace(
        'headers="(request-target) host date digest"',
        'headers="(request-target) host date digest content-language"',
    )
    with pytest.raises(BadSignature, match="a header the request does not have"):
        signatures.verify(
            "POST", "/ap/inbox?page=1", headers, BODY, pair.public_pem, host=HOST, now=NOW
        )


def test_the_method_may_come_in_any_case(pair: signatures.KeyPair) -> None:
    """A lower-case "post" must still demand the Digest."""
    headers = signed(pair)
    with pytest.raises(BadSignature, match="Digest header does not match"):
        signatures.verify(
            "post", "/ap/inbox?page=1", headers, BODY + b"!", pair.public_pem, host=HOST, now=NOW
        )
