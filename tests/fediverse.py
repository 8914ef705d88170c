"""A small fediverse server on 127.0.0.1 that stands in for Mastodon in the tests.

It has accounts (actors with RSA keys), serves their documents, signs the activities
they send the way Mastodon does, and keeps what is posted to its inboxes. It checks
what it receives by the rules Mastodon's documentation gives, with its own code (not
Quire's): the content type, the signature's coverage (request-target, host, date,
digest), the Digest against the body, and the RSA-SHA256 signature against the key the
sender's actor document publishes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.webpages import serving

AS = "https://www.w3.org/ns/activitystreams"
ACTIVITY_TYPES = ("application/activity+json", "application/ld+json")


@dataclass
class Account:
    name: str
    base: str
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    display: str = ""

    @property
    def uri(self) -> str:
        return f"{self.base}/users/{self.name}"

    @property
    def key_id(self) -> str:
        return f"{self.uri}#main-key"

    def document(self) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return {
            "@context": [AS, "https://w3id.org/security/v1"],
            "id": self.uri,
            "type": "Person",
            "preferredUsername": self.name,
            "name": self.display or self.name.title(),
            "url": f"{self.base}/@{self.name}",
            "inbox": f"{self.uri}/inbox",
            "outbox": f"{self.uri}/outbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "icon": {"type": "Image", "url": f"https://files.example/{self.name}.png"},
            "publicKey": {"id": self.key_id, "owner": self.uri, "publicKeyPem": public.decode()},
        }

    def signed(
        self, url: str, body: bytes, *, date: datetime | None = None, host: str | None = None
    ) -> dict[str, str]:
        """Headers that sign a POST of `body` to `url`, as Mastodon makes them."""
        parts = urlsplit(url)
        headers = {
            "Host": host or parts.netloc,
            "Date": format_datetime(date or datetime.now(UTC), usegmt=True),
            "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
            "Content-Type": "application/activity+json",
        }
        signed = "\n".join(
            [
                f"(request-target): post {parts.path}",
                f"host: {headers['Host']}",
                f"date: {headers['Date']}",
                f"digest: {headers['Digest']}",
            ]
        )
        signature = self.key.sign(signed.encode(), padding.PKCS1v15(), hashes.SHA256())
        headers["Signature"] = (
            f'keyId="{self.key_id}",algorithm="rsa-sha256",'
            f'headers="(request-target) host date digest",'
            f'signature="{base64.b64encode(signature).decode()}"'
        )
        return headers


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def activity(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


class Fediverse:
    def __init__(self) -> None:
        self.port = 0
        self.accounts: dict[str, Account] = {}
        self.received: list[Received] = []
        # Documents served besides the actors (a note, say), by path.
        self.documents: dict[str, tuple[int, bytes]] = {}
        self.answer = 202
        # Set, documents are served only to GETs signed by one of these keys (keyId to
        # public PEM), as Mastodon's secure mode (AUTHORIZED_FETCH) does; each refused
        # fetch is counted.
        self.secure: dict[str, str] | None = None
        self.refused_fetches = 0
        self._arrived = threading.Condition()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def account(self, name: str, display: str = "") -> Account:
        self.accounts[name] = Account(name, self.base, display=display)
        return self.accounts[name]

    def wait_for(self, count: int, timeout: float = 120.0) -> list[Received]:
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.received) >= count, timeout)
        return list(self.received)


@contextmanager
def fediverse() -> Iterator[Fediverse]:
    server_state = Fediverse()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            # Secure mode guards the ActivityStreams documents, not WebFinger nor pages.
            wants = self.headers.get("Accept", "")
            if server_state.secure is not None and "activity+json" in wants:
                try:
                    headers = {name.lower(): value for name, value in self.headers.items()}
                    check_signature("get", self.path, headers, server_state.secure)
                except Exception:
                    server_state.refused_fetches += 1
                    self._send(401, b"{}", "application/json")
                    return
            match = re.fullmatch(r"/users/([\w-]+)", self.path)
            finger = re.fullmatch(
                r"/\.well-known/webfinger\?resource=acct(?::|%3A)([\w-]+)@.+", self.path
            )
            if finger and finger[1] in server_state.accounts:
                account = server_state.accounts[finger[1]]
                jrd = {
                    "subject": f"acct:{account.name}@127.0.0.1:{server_state.port}",
                    "links": [
                        {"rel": "self", "type": "application/activity+json", "href": account.uri}
                    ],
                }
                self._send(200, json.dumps(jrd).encode(), "application/jrd+json")
            elif match and match[1] in server_state.accounts:
                document = server_state.accounts[match[1]].document()
                self._send(200, json.dumps(document).encode(), "application/activity+json")
            elif self.path in server_state.documents:
                status, body = server_state.documents[self.path]
                self._send(status, body, "application/activity+json")
            else:
                self._send(404, b"{}", "application/json")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with server_state._arrived:
                server_state.received.append(Received(self.path, dict(self.headers), body))
                server_state._arrived.notify_all()
            self._send(server_state.answer, b"", "text/plain")

        def log_message(self, *args: object) -> None:
            pass

    with serving(Handler) as port:
        server_state.port = port
        yield server_state


def check_signed(received: Received, public_pem: str, *, key_id: str) -> None:
    """Raise AssertionError unless `received` is signed as Mastodon requires."""
    headers = {name.lower(): value for name, value in received.headers.items()}
    content_type = headers.get("content-type", "")
    assert content_type.startswith(ACTIVITY_TYPES), content_type
    if content_type.startswith("application/ld+json"):
        assert 'profile="https://www.w3.org/ns/activitystreams"' in content_type
    expected = "SHA-256=" + base64.b64encode(hashlib.sha256(received.body).digest()).decode()
    assert headers["digest"] == expected
    check_signature("post", received.path, headers, {key_id: public_pem}, extra=("digest",))


def check_signature(
    method: str,
    path: str,
    headers: dict[str, str],
    keys: dict[str, str],
    extra: tuple[str, ...] = (),
) -> None:
    """Raise AssertionError (or InvalidSignature) unless the request's Signature header
    names one of `keys` (keyId to public PEM) and that key signed the request."""
    parts = dict(re.findall(r'(\w+)="([^"]*)"', headers["signature"]))
    assert parts["keyId"] in keys, parts["keyId"]
    assert parts["algorithm"] in ("rsa-sha256", "hs2019")
    covered = parts["headers"].split()
    assert {"(request-target)", "host", "date", *extra} <= set(covered), covered
    lines = []
    for name in covered:
        if name == "(request-target)":
            lines.append(f"(request-target): {method} {path}")
        else:
            lines.append(f"{name}: {headers[name]}")
    key = serialization.load_pem_public_key(keys[parts["keyId"]].encode())
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(
        base64.b64decode(parts["signature"]),
        "\n".join(lines).encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )
