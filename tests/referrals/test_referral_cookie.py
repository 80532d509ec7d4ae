"""The referral cookie's fast signing is Django's TimestampSigner, byte for byte, and its fast
Set-Cookie lines are Django's set_cookie's."""

import time

import pytest
from django.core import signing
from django.http import HttpResponse

from referrals.links import cookies
from referrals.links.cookies import read_referral_cookie, referral_cookie_value


def _django_sign(code, visitor_id):
    return signing.TimestampSigner(salt=cookies._SALT).sign(f"{code}.{visitor_id}")


def test_the_value_is_what_django_signs(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.25)
    assert referral_cookie_value("ANNA2026", "v" * 32) == _django_sign("ANNA2026", "v" * 32)


def test_a_new_secret_key_signs_with_the_new_key(settings):
    before = referral_cookie_value("ANNA2026", "visitor")
    settings.SECRET_KEY = "another-secret-" + "x" * 40
    after = referral_cookie_value("ANNA2026", "visitor")
    assert after != before
    assert read_referral_cookie(after).code == "ANNA2026"
    assert read_referral_cookie(before) is None  # not signed with the current key


def _set_cookie_lines(response):
    return [morsel.output(header="Set-Cookie:") for morsel in response.cookies.values()]


@pytest.mark.parametrize("secure", [True, False])
@pytest.mark.parametrize("visitor_id", ["0f" * 16, "visitor with spaces", "caf\u00e9"])
def test_the_cookies_are_what_django_would_set(monkeypatch, secure, visitor_id):
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.75)
    ours = HttpResponse()
    cookies.set_referral_cookie(
        ours, code="ANNA2026", visitor_id=visitor_id, window_days=45, secure=secure
    )
    django = HttpResponse()
    for name, value, max_age in (
        ("st_ref", referral_cookie_value("ANNA2026", visitor_id), 45 * 86400),
        ("st_vid", visitor_id, 365 * 86400),
    ):
        django.set_cookie(
            name, value, max_age=max_age, httponly=True, samesite="Lax", secure=secure
        )
    assert _set_cookie_lines(ours) == _set_cookie_lines(django)
