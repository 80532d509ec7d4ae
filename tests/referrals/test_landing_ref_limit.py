"""?ref= on a campaign page (/friends/?ref=CODE) greets the shopper by the advocate's name, which
confirms the code exists: guesses there share the /r/ misses' limit per address."""

import pytest

from tests.factories import RepCodeFactory

pytestmark = pytest.mark.django_db


def greeted(client, code: str, ip: str = "203.0.113.7"):
    response = client.get(f"/spring-offer/?ref={code}", REMOTE_ADDR=ip)
    assert response.status_code == 200
    return response.context["greeting"]


def test_ref_guesses_are_limited_like_redirect_misses(client, settings, campaign_page, rep_code):
    settings.STREETTEAM_RATE_LIMITS = {"redirect_miss": "2/600"}
    assert greeted(client, rep_code.code).code == rep_code.code
    assert greeted(client, "GUESS1") is None
    assert greeted(client, "GUESS2") is None
    # Over the limit: even a real code is no longer confirmed to this address.
    assert greeted(client, rep_code.code) is None
    # Another shopper is not affected.
    assert greeted(client, rep_code.code, ip="198.51.100.9").code == rep_code.code


def test_ref_guesses_and_redirect_misses_share_one_budget(
    client, settings, campaign_page, rep_code
):
    settings.STREETTEAM_RATE_LIMITS = {"redirect_miss": "1/600"}
    assert greeted(client, "GUESS1") is None
    assert client.get("/r/GUESS2", REMOTE_ADDR="203.0.113.7").status_code == 429


def test_a_ref_for_another_programme_counts_as_a_guess(client, settings, campaign_page, rep_code):
    settings.STREETTEAM_RATE_LIMITS = {"redirect_miss": "1/600"}
    assert greeted(client, RepCodeFactory().code) is None
    assert greeted(client, rep_code.code) is None
