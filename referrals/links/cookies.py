"""The referral cookie: which code sent this browser, and when; and the visitor id.

Signed (a shopper can't forge another advocate's code into it), HttpOnly, SameSite=Lax, and as
long-lived as the programme's attribution window. The time of the click travels inside the
signature, so attribution can check the window without a database read.

The visitor id (a random id per browser; clicks are stored under it, and the merchant script
sends it back with the order) travels signed too, as `ID.SIGNATURE`: in the st_vid cookie and
in merchant links. Only an id this server minted is trusted, so nobody can pick an id (say, one
seen in a click export) and plant clicks or orders under it. The database keeps the bare id.
"""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core import signing

from referrals.conf import app_settings

_SALT = "streetteam.referral-cookie"
_VISITOR_SALT = "streetteam.visitor-id"
# `ID.SIGNATURE`: 32 hex characters, a dot, 43 of URL-safe base64 (HMAC-SHA256); the API's
# visitor_id field allows this much, with room for a longer id or hash later.
SIGNED_VISITOR_ID_MAX_LENGTH = 128


@dataclass(frozen=True)
class LinkReferral:
    code: str
    visitor_id: str
    clicked_at: datetime


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT)


def _visitor_signer() -> signing.Signer:
    # "." rather than ":": the signed id goes into merchant URLs, and every character of
    # `hex.base64url` is safe there and in a cookie without quoting.
    return signing.Signer(salt=_VISITOR_SALT, sep=".")


def visitor_id_sign(visitor_id: str) -> str:
    return _visitor_signer().sign(visitor_id)


def visitor_id_mint() -> tuple[str, str]:
    """A new visitor id and its signed form: (id, `id.signature`)."""
    visitor_id = secrets.token_hex(16)
    return visitor_id, visitor_id_sign(visitor_id)


def visitor_id_verify(signed: str | None) -> str | None:
    """The visitor id inside a signed one, or None when missing, bare, tampered or malformed
    (SECRET_KEY_FALLBACKS still verify, so a key rotation doesn't reset every visitor)."""
    if not signed or len(signed) > SIGNED_VISITOR_ID_MAX_LENGTH:
        return None
    try:
        visitor_id = _visitor_signer().unsign(signed)
    except signing.BadSignature:
        return None
    if not (visitor_id.isascii() and visitor_id.isalnum() and len(visitor_id) <= 32):
        return None
    return visitor_id


def referral_cookie_value(code: str, visitor_id: str) -> str:
    """The signed cookie value: `code.visitor_id`, with the time of the click inside the
    signature (read back by `read_referral_cookie`)."""
    return _signer().sign(f"{code}.{visitor_id}")


def set_referral_cookie(
    response,
    *,
    code: str,
    visitor_id: str,
    signed_visitor_id: str,
    window_days: int,
    secure: bool,
):
    """The referral cookie (the bare visitor id inside its signature) and the visitor cookie
    (the signed id, read back by `visitor_id_verify`)."""
    value = referral_cookie_value(code, visitor_id)
    for name, cookie_value, max_age in (
        (app_settings.COOKIE_NAME, value, window_days * 86400),
        (app_settings.VISITOR_COOKIE_NAME, signed_visitor_id, 365 * 86400),
    ):
        response.set_cookie(
            name, cookie_value, max_age=max_age, httponly=True, samesite="Lax", secure=secure
        )


def read_referral_cookie(value: str | None) -> LinkReferral | None:
    """The referral in a cookie value, or None when missing, forged or malformed."""
    if not value:
        return None
    try:
        payload = _signer().unsign(value)
        timestamp = signing.b62_decode(value.rsplit(":", 2)[1])
    except (signing.BadSignature, IndexError, ValueError):
        return None
    code, _, visitor_id = payload.partition(".")
    if not code:
        return None
    clicked_at = datetime.fromtimestamp(timestamp, tz=UTC)
    return LinkReferral(code=code, visitor_id=visitor_id, clicked_at=clicked_at)


def referral_from_request(request) -> LinkReferral | None:
    return read_referral_cookie(request.COOKIES.get(app_settings.COOKIE_NAME))
