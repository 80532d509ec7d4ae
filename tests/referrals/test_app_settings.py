"""The referrals app's settings are read once, and read again whenever a setting changes."""

from referrals import ratelimit
from referrals.conf import app_settings


def test_a_changed_setting_is_read_again(settings):
    assert ratelimit.limit("redirect_miss") == (30, 600)  # the default, now kept
    settings.STREETTEAM_RATE_LIMITS = {"redirect_miss": "2/60"}
    assert ratelimit.limit("redirect_miss") == (2, 60)
    assert ratelimit.limit("code_lookup") == (30, 600)
    settings.STREETTEAM_VISITOR_COOKIE_NAME = "vid"
    assert app_settings.VISITOR_COOKIE_NAME == "vid"


def test_the_hash_salt_follows_the_secret_key_until_it_is_set(settings):
    settings.SECRET_KEY = "a-secret-" + "x" * 40
    assert app_settings.HASH_SALT == settings.SECRET_KEY
    settings.STREETTEAM_HASH_SALT = "pepper"
    assert app_settings.HASH_SALT == "pepper"


def test_a_setting_is_restored_after_the_test_that_changed_it():
    assert ratelimit.limit("redirect_miss") == (30, 600)
    assert app_settings.VISITOR_COOKIE_NAME == "st_vid"
