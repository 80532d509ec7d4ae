"""The referral cookie is signed with the current SECRET_KEY (Django's TimestampSigner)."""

from referrals.links.cookies import read_referral_cookie, referral_cookie_value


def test_a_new_secret_key_signs_with_the_new_key(settings):
    before = referral_cookie_value("ANNA2026", "visitor")
    settings.SECRET_KEY = "another-secret-" + "x" * 40
    after = referral_cookie_value("ANNA2026", "visitor")
    assert after != before
    assert read_referral_cookie(after).code == "ANNA2026"
    assert read_referral_cookie(before) is None  # not signed with the current key
