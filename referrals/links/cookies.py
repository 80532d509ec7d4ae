"""The referral cookie: which code sent this browser, and when.

Signed (a shopper can't forge another advocate's code into it), HttpOnly, SameSite=Lax, and as
long-lived as the programme's attribution window. The time of the click travels inside the
signature, so attribution can check the window without a database read.
"""

import functools
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookies import Morsel

from django.conf import settings
from django.core import signing
from django.utils.http import http_date

from referrals.conf import app_settings

_SALT = "streetteam.referral-cookie"


@dataclass(frozen=True)
class LinkReferral:
    code: str
    visitor_id: str
    clicked_at: datetime


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=_SALT)


@functools.lru_cache(maxsize=4)
def _mac(secret: str):
    # The HMAC of signing.TimestampSigner(salt=_SALT).sign(), with its derived key computed once
    # per SECRET_KEY instead of once per redirect (/r/ signs a cookie on every click).
    key = hashlib.sha256(f"{_SALT}signer{secret}".encode()).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def referral_cookie_value(code: str, visitor_id: str) -> str:
    """Exactly what `_signer().sign(f"{code}.{visitor_id}")` returns; read back by `_signer()`."""
    value = f"{code}.{visitor_id}:{signing.b62_encode(int(time.time()))}"
    mac = _mac(settings.SECRET_KEY).copy()
    mac.update(value.encode())
    return f"{value}:{signing.b64_encode(mac.digest()).decode()}"


def set_referral_cookie(response, *, code: str, visitor_id: str, window_days: int, secure: bool):
    value = referral_cookie_value(code, visitor_id)
    _set_cookie(response, app_settings.COOKIE_NAME, value, window_days * 86400, secure)
    _set_cookie(response, app_settings.VISITOR_COOKIE_NAME, visitor_id, 365 * 86400, secure)


# Characters a cookie value may hold without quoting (http.cookies' own legal set).
_COOKIE_SAFE = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~:]*\Z")
_http_dates: dict[int, tuple[int, str]] = {}


def http_date_after(seconds: int) -> str:
    """http_date(time.time() + seconds), as Django's set_cookie and never_cache write it,
    formatted once a second instead of on every call."""
    now = int(time.time())
    memo = _http_dates.get(seconds)
    if memo is None or memo[0] != now:
        memo = _http_dates[seconds] = (now, http_date(now + seconds))
    return memo[1]


def _set_cookie(response, name: str, value: str, max_age: int, secure: bool) -> None:
    """What `response.set_cookie(name, value, max_age=…, httponly=True, samesite="Lax",
    secure=…)` sets, without formatting the expiry date and checking the value's quoting on
    every call: /r/ sets two cookies on every click. A value that would need quoting goes
    through Django's set_cookie."""
    if not _COOKIE_SAFE.match(value):
        response.set_cookie(
            name, value, max_age=max_age, httponly=True, samesite="Lax", secure=secure
        )
        return
    morsel = Morsel()
    morsel.set(name, value, value)
    expires = http_date_after(max_age)
    morsel.update(
        {"max-age": max_age, "expires": expires, "path": "/", "httponly": True, "samesite": "Lax"}
    )
    if secure:
        morsel["secure"] = True
    response.cookies[name] = morsel


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
