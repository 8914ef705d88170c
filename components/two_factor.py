"""Two-factor sign-in with TOTP (RFC 6238) apps, and one-time recovery codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import time
from datetime import UTC, datetime

import pyotp
import segno
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import RecoveryCode, User, utcnow

RECOVERY_CODES = 10
# One step either side forgives a phone clock that is up to 30 seconds off.
VALID_WINDOW = 1


def new_secret() -> str:
    return pyotp.random_base32()


def new_enrolment() -> str:
    """A nonce for a set-up in progress: what the session keeps instead of the secret."""
    return secrets.token_urlsafe(16)


def enrolment_secret(key: str, user_id: int, nonce: str) -> str:
    """The secret a set-up shows, made from the app's key, the user and the set-up's
    nonce. The session cookie is signed but readable: holding only the nonce, it tells
    someone who copies it nothing they could make codes with."""
    digest = hmac.new(key.encode(), f"totp-enrol:{user_id}:{nonce}".encode(), "sha256").digest()
    return base64.b32encode(digest[:20]).decode()  # 160 bits, as RFC 4226 recommends


def provisioning_uri(secret: str, *, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The enrolment QR code as an inline SVG element (no XML declaration, no style)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", xmldecl=False, svgns=True, nl=False, scale=4, border=2, title="QR code"
    )
    return out.getvalue().decode()


def _clean(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _step_accepted(secret: str, code: str, now: float) -> int | None:
    """The time step `code` belongs to, within the window, or None."""
    totp = pyotp.TOTP(secret)
    code = _clean(code)
    if not code.isdigit() or len(code) != totp.digits:
        return None
    current = totp.timecode(datetime.fromtimestamp(now, UTC))
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_code(secret: str, code: str, *, now: float | None = None) -> bool:
    """For enrolment: does `code` come from an app holding `secret`?"""
    return _step_accepted(secret, code, time.time() if now is None else now) is not None


def verify(user: User, code: str, *, now: float | None = None) -> bool:
    """Check a sign-in code; each time step is accepted once, so a seen code is spent."""
    if not user.totp_secret:
        return False
    step = _step_accepted(user.totp_secret, code, time.time() if now is None else now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def _digest(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


async def enable(session: AsyncSession, user: User, secret: str) -> list[str]:
    """Turn two-factor sign-in on; returns the recovery codes, shown to the user once."""
    user.totp_secret = secret
    user.totp_last_step = None
    return await new_recovery_codes(session, user)


async def disable(session: AsyncSession, user: User) -> None:
    user.totp_secret = None
    user.totp_last_step = None
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


async def new_recovery_codes(session: AsyncSession, user: User) -> list[str]:
    """Replace the user's recovery codes with fresh ones (formatted xxxxx-xxxxx)."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(code)) for code in codes)
    await session.flush()
    return codes


async def use_recovery_code(session: AsyncSession, user: User, code: str) -> bool:
    """Spend a recovery code: true once for each code, false ever after."""
    row = await session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    row.used_at = utcnow()
    await session.flush()
    return True


async def recovery_codes_left(session: AsyncSession, user: User) -> int:
    rows = await session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(rows.all())
