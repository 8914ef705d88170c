"""The signed links a subscriber follows: one kind to confirm, another to leave.

Each is signed with the app's secret for its one purpose (a confirmation link cannot
unsubscribe, nor the other way round) and names the subscriber's id and address, so a
link made for an address that was since removed does nothing. Confirmation links
expire; unsubscribe links never do (an old mail must still let its reader go).
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

CONFIRM = "quire.newsletter.confirm"
LEAVE = "quire.newsletter.leave"
CONFIRM_DAYS = 7


class BadLink(ValueError):
    """The link is not one Quire made, was cut short, or has expired; says which."""


@dataclass(frozen=True)
class Holder:
    subscriber_id: int
    email: str


def make(secret: str, purpose: str, subscriber_id: int, email: str) -> str:
    return URLSafeTimedSerializer(secret, salt=purpose).dumps([subscriber_id, email])


def read(secret: str, purpose: str, token: str) -> Holder:
    max_age = CONFIRM_DAYS * 86_400 if purpose == CONFIRM else None
    try:
        value = URLSafeTimedSerializer(secret, salt=purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        raise BadLink(
            f"This confirmation link is more than {CONFIRM_DAYS} days old. "
            "Subscribe again to get a new one."
        ) from None
    except BadSignature:
        raise BadLink(
            "This link is not valid: it may have been cut short when it was copied."
        ) from None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not isinstance(value[0], int)
        or not isinstance(value[1], str)
    ):
        raise BadLink("This link is not valid.")
    return Holder(value[0], value[1])
