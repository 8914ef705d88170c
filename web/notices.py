"""Status messages carried across a redirect ("Published “Hello”."), signed.

A form post answers with a redirect, and the page it leads to says what was done. The
message travels in the address, so that a reload shows it again and no session changes;
it is signed with the app's key, so that a link made elsewhere (`?notice=Your account
is locked, call…`) cannot put words in the site's mouth: an unsigned or altered notice
is not shown.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from quart import current_app, request, url_for

SALT = "quire.notice"
# A notice is a sentence: anything longer was not made here.
MAX_LENGTH = 600


def url_with_notice(endpoint: str, notice: str, **values: Any) -> str:
    """The address of `endpoint`, carrying `notice` for its page to show."""
    return url_for(endpoint, notice=_signer().dumps(notice[:MAX_LENGTH]), **values)


def notice() -> str | None:
    """The notice this page's address carries, if the site signed it."""
    raw = request.args.get("notice", "")
    if not raw or len(raw) > 4 * MAX_LENGTH:
        return None
    try:
        text = _signer().loads(raw)
    except BadSignature:
        return None
    return text if isinstance(text, str) else None


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)
