"""Mail settings as the environment gives them (read by components/settings.py):
QUIRE_SMTP_URL, QUIRE_MAIL_FROM and QUIRE_MAIL_PER_MINUTE. Without the first two, mail
is off: no one can subscribe, and nothing is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from email_validator import EmailNotValidError, validate_email


class MailConfigError(ValueError):
    """A mail setting is malformed; says what is wrong, never the password."""


@dataclass(frozen=True)
class Smtp:
    """Where mail goes, as QUIRE_SMTP_URL gave it."""

    host: str
    port: int
    tls: bool  # TLS from the first byte (smtps://); else STARTTLS when offered
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Sender:
    """Who mails come from: QUIRE_MAIL_FROM's address, with the site's title as the
    name unless the setting gave one."""

    address: str
    name: str = ""

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True)
class MailSettings:
    smtp: Smtp
    sender: Sender
    # Messages a minute, for each server process.
    per_minute: int


def parse_smtp_url(url: str) -> Smtp:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise MailConfigError("must start with smtp:// or smtps://")
    if not parts.hostname:
        raise MailConfigError("names no host")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 587)
    except ValueError:
        raise MailConfigError("has a port that is not a number") from None
    return Smtp(
        host=parts.hostname,
        port=port,
        tls=parts.scheme == "smtps",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def parse_sender(raw: str) -> Sender:
    """ "Name <address>" or a bare address."""
    if any(character in raw for character in "\r\n"):
        raise MailConfigError("must be one line")
    name, address = parseaddr(raw.strip())
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        raise MailConfigError(f"is not an email address: {error}") from None
    return Sender(address=checked.normalized, name=name.strip())
