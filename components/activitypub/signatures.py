"""HTTP Signatures as Mastodon sends and checks them (draft-cavage-http-signatures-12).

A POST signs `(request-target) host date digest`, a GET `(request-target) host date`,
with RSASSA-PKCS1-v1_5 over SHA-256 (`algorithm="rsa-sha256"`; `hs2019` is read as the
same). A request is believed only if: the signature covers at least those headers, its
`Date` is within CLOCK_SKEW of now (an old signed request sent again is refused), the
body's SHA-256 matches its `Digest`, and the signature checks against the key of the
actor named by `keyId`, which the caller fetches (and caches).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CLOCK_SKEW = timedelta(hours=1)
KEY_BITS = 2048
_PARAMETER = re.compile(r'\s*([a-zA-Z]+)="([^"]*)"\s*(?:,|$)')


class BadSignature(ValueError):
    """The request's signature is missing, malformed, stale or wrong: says which."""


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def new_key_pair() -> KeyPair:
    """A fresh RSA key pair, PEM-encoded (some 50 to 200 ms of CPU: not on the loop)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return KeyPair(private.decode(), public.decode())


def load_private(private_pem: str) -> rsa.RSAPrivateKey:
    """A PEM private key, read once for many signatures (reading costs more than signing)."""
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey), "actors' keys are RSA"
    return key


def digest(body: bytes) -> str:
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def sign(
    method: str,
    url: str,
    *,
    key_id: str,
    private_pem: str | rsa.RSAPrivateKey,
    body: bytes | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """The headers that sign a request: Host, Date, Digest (with a body) and Signature."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    headers = {
        "Host": parts.netloc,
        "Date": format_datetime((now or datetime.now(UTC)).astimezone(UTC), usegmt=True),
    }
    names = ["(request-target)", "host", "date"]
    if body is not None:
        headers["Digest"] = digest(body)
        names.append("digest")
    signed = _signing_string(names, method, target, {k.lower(): v for k, v in headers.items()})
    key = load_private(private_pem) if isinstance(private_pem, str) else private_pem
    signature = key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    headers["Signature"] = (
        f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    return headers


@dataclass(frozen=True)
class Parsed:
    key_id: str
    headers: list[str]
    signature: bytes


def parse(header: str) -> Parsed:
    """The parts of a Signature header; BadSignature if it is not one."""
    found = dict(_PARAMETER.findall(header))
    if "keyId" not in found or "signature" not in found:
        raise BadSignature("The Signature header names no keyId or no signature.")
    algorithm = found.get("algorithm", "hs2019").lower()
    if algorithm not in ("rsa-sha256", "hs2019"):
        raise BadSignature(f"The signature algorithm {algorithm!r} is not accepted.")
    try:
        signature = base64.b64decode(found["signature"], validate=True)
    except ValueError:
        raise BadSignature("The signature is not base64.") from None
    names = found.get("headers", "date").lower().split()
    return Parsed(found["keyId"], names, signature)


def verify(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    public_pem: str,
    *,
    host: str,
    now: datetime | None = None,
) -> Parsed:
    """Check a received request's signature against `public_pem`; the parsed header, or
    BadSignature. `target` is the path with its query string; `headers` the request's;
    `host` this server's own (a request signed for another server is not taken here)."""
    method = method.upper()
    lowered = {name.lower(): value for name, value in headers.items()}
    if lowered.get("host", "").lower() != host.lower():
        raise BadSignature(f"The request was signed for another host, not {host}.")
    if "signature" not in lowered:
        raise BadSignature("The request is not signed.")
    parsed = parse(lowered["signature"])
    required = {"(request-target)", "host", "date"} | ({"digest"} if method == "POST" else set())
    if missing := sorted(required - set(parsed.headers)):
        raise BadSignature(f"The signature does not cover {', '.join(missing)}.")
    _check_date(lowered.get("date", ""), now or datetime.now(UTC))
    if method == "POST" and lowered.get("digest", "") != digest(body):
        raise BadSignature("The Digest header does not match the body.")
    if any(name not in lowered for name in parsed.headers if name != "(request-target)"):
        raise BadSignature("The signature covers a header the request does not have.")
    signed = _signing_string(parsed.headers, method, target, lowered)
    try:
        key = serialization.load_pem_public_key(public_pem.encode())
    except ValueError:
        raise BadSignature("The actor's public key cannot be read.") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise BadSignature("The actor's key is not an RSA key.")
    try:
        key.verify(parsed.signature, signed.encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise BadSignature("The signature does not match.") from None
    return parsed


def _check_date(value: str, now: datetime) -> None:
    try:
        sent = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        raise BadSignature("The Date header is missing or malformed.") from None
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    if abs(now - sent) > CLOCK_SKEW:
        raise BadSignature("The request's Date is too far from now: it may be a replay.")


def _signing_string(names: list[str], method: str, target: str, headers: Mapping[str, str]) -> str:
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        else:
            lines.append(f"{name}: {headers[name]}")
    return "\n".join(lines)
