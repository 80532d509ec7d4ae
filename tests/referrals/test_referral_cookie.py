"""The referral cookie and the visitor id are signed with the current SECRET_KEY (Django's
signing)."""

from referrals.links.cookies import (
    read_referral_cookie,
    referral_cookie_value,
    visitor_id_mint,
    visitor_id_verify,
)


def test_a_new_secret_key_signs_with_the_new_key(settings):
    before = referral_cookie_value("ANNA2026", "visitor")
    settings.SECRET_KEY = "another-secret-" + "x" * 40
    after = referral_cookie_value("ANNA2026", "visitor")
    assert after != before
    assert read_referral_cookie(after).code == "ANNA2026"
    assert read_referral_cookie(before) is None  # not signed with the current key


def test_a_visitor_id_is_trusted_only_as_this_server_signed_it(settings):
    visitor_id, signed = visitor_id_mint()
    assert signed.startswith(f"{visitor_id}.")
    assert visitor_id_verify(signed) == visitor_id
    assert visitor_id_verify(visitor_id) is None  # bare
    assert visitor_id_verify(signed.replace(visitor_id, "b" * 32)) is None  # another id
    assert visitor_id_verify("") is None
    assert visitor_id_verify(None) is None
    # Signed for the referral cookie isn't signed for a visitor id (each has its own salt).
    assert visitor_id_verify(referral_cookie_value("ANNA2026", visitor_id)) is None

    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "another-secret-" + "x" * 40
    assert visitor_id_verify(signed) is None
    settings.SECRET_KEY_FALLBACKS = [old_key]  # a rotation keeps returning visitors
    assert visitor_id_verify(signed) == visitor_id
