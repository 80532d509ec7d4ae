"""The referral cookie: which code sent this browser, and when.

Signed (a shopper can't forge another advocate's code into it), HttpOnly, SameSite=Lax, and as
long-lived as the programme's attribution window. The time of the click travels inside the
signature, so attribution can check the window without a database read.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.core import signing

from referrals.conf import app_settings

_SALT = "streetteam.referral-cookie"


@dataclass(frozen=True)
class LinkReferral:
    code: str
    visitor_id: str
    clicked_at: datetime


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT)


def referral_cookie_value(code: str, visitor_id: str) -> str:
    """The signed cookie value: `code.visitor_id`, with the time of the click inside the
    signature (read back by `read_referral_cookie`)."""
    return _signer().sign(f"{code}.{visitor_id}")


def set_referral_cookie(response, *, code: str, visitor_id: str, window_days: int, secure: bool):
    value = referral_cookie_value(code, visitor_id)
    for name, cookie_value, max_age in (
        (app_settings.COOKIE_NAME, value, window_days * 86400),
        (app_settings.VISITOR_COOKIE_NAME, visitor_id, 365 * 86400),
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
