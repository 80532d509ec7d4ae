import pytest

from referrals.hashing import email_hash, ip_hash, keyed_hash, normalise_email


@pytest.mark.parametrize(
    ("email", "normalised"),
    [
        ("Anna.Smith+promo@gmail.com", "annasmith@gmail.com"),
        ("annasmith@googlemail.com", "annasmith@gmail.com"),
        ("  ANNA@Example.COM ", "anna@example.com"),
        ("anna+tag@example.com", "anna@example.com"),
        ("anna.smith@example.com", "anna.smith@example.com"),  # dots matter outside Gmail
        ("not-an-email", "not-an-email"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_email_maps_addresses_reaching_one_inbox_together(email, normalised):
    assert normalise_email(email) == normalised


def test_email_hash_is_equal_for_the_same_inbox_and_hides_the_address():
    digest = email_hash("Anna.Smith+promo@gmail.com")
    assert digest == email_hash("annasmith@googlemail.com")
    assert digest != email_hash("anna.smyth@gmail.com")
    assert "anna" not in digest
    assert len(digest) == 64


def test_empty_values_hash_to_empty():
    assert email_hash("") == ""
    assert ip_hash("") == ""


def test_hashes_are_keyed_per_kind():
    assert keyed_hash("email", "x") != keyed_hash("ip", "x")


def test_hashes_depend_on_the_salt(settings):
    before = ip_hash("203.0.113.7")
    settings.STREETTEAM_HASH_SALT = "another-salt"
    assert ip_hash("203.0.113.7") != before


def test_a_hash_stays_what_the_stored_rows_were_hashed_with(settings):
    # HMAC-SHA256 keyed by "<salt>:<kind>": orders and clicks already stored were hashed so, and
    # the self-referral and first-order checks compare new hashes with them.
    settings.STREETTEAM_HASH_SALT = "pepper"
    assert ip_hash("203.0.113.7") == (
        "ebca0b809618169c1ab8b514f600f1b2f7d0451364e59a390a003e73ffee79b1"
    )
