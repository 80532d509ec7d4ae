"""The referral cookie's fast signing is Django's TimestampSigner, byte for byte."""

import time

from django.core import signing

from referrals import cookies
from referrals.cookies import read_referral_cookie, referral_cookie_value


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
