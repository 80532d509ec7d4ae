"""The branded error pages: a failed CSRF check and the referral link's rate limit."""

from types import SimpleNamespace

import pytest
from django.test import Client

from referrals import ratelimit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_form_posted_without_its_csrf_token_gets_our_expired_form_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/account/login/", {"login": "a@example.com", "password": "x"})
    assert response.status_code == 403
    assert "403_csrf.html" in [t.name for t in response.templates]
    assert "This form has expired" in response.text
    assert "Go back, reload the page and try again." in response.text
    assert 'href="/"' in response.text
    # Django's own page, whose inline styles our CSP blocks, is not what is shown.
    assert "CSRF verification failed" not in response.text
    assert "<style" not in response.text


def test_the_expired_form_page_changes_nothing(client):
    user = UserFactory()
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    response = strict.post("/account/logout/")
    assert response.status_code == 403
    assert strict.get("/dashboard/").status_code == 200  # still logged in


def test_the_rate_limit_page_says_how_long_to_wait_in_words(client, settings, monkeypatch):
    settings.STREETTEAM_RATE_LIMITS = {"redirect_miss": "1/600"}
    # Limits count in fixed windows; 115 s into one, 485 s of it remain.
    window_start = 1_800_000_000  # a multiple of 600
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: window_start + 115.0))
    assert client.get("/r/GUESS1", REMOTE_ADDR="203.0.113.7").status_code == 404
    response = client.get("/r/GUESS2", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 429
    assert response["Retry-After"] == "485"
    assert "Please try again in about 8 minutes." in response.text
    assert "seconds" not in response.text


def test_the_rate_limit_page_says_a_minute_when_the_window_is_short(client, settings):
    settings.STREETTEAM_RATE_LIMITS = {"redirect_miss": "1/45"}
    client.get("/r/GUESS1", REMOTE_ADDR="203.0.113.8")
    response = client.get("/r/GUESS2", REMOTE_ADDR="203.0.113.8")
    assert response.status_code == 429
    assert "Please try again in a minute." in response.text
