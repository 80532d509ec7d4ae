"""The client address every rate limit and IP hash keys on, with and without a trusted proxy.

Behind the TLS proxy production assumes, REMOTE_ADDR is the proxy: one bad shopper's /r/ misses
blocked every shopper's links. With STREETTEAM_TRUSTED_PROXY_HOPS=N the client is the Nth
X-Forwarded-For entry from the right; anything a client prepends is ignored."""

import pytest
from allauth.account.adapter import get_adapter
from django.test import RequestFactory

from kernel.client_ip import client_ip
from referrals.hashing import ip_hash
from referrals.links.clicks import clicks_drain
from referrals.models import Click

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"


def request_from(remote: str, forwarded: str | None = None):
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **extra)


def test_without_trusted_proxies_a_spoofed_forwarded_for_is_ignored(settings):
    settings.STREETTEAM_TRUSTED_PROXY_HOPS = 0
    assert client_ip(request_from("198.51.100.9", "203.0.113.7")) == "198.51.100.9"


def test_one_trusted_proxy_names_the_address_it_appended(settings):
    settings.STREETTEAM_TRUSTED_PROXY_HOPS = 1
    assert client_ip(request_from(PROXY, "198.51.100.9")) == "198.51.100.9"
    # The client prepended someone else's address; the proxy appended the real one.
    assert client_ip(request_from(PROXY, "203.0.113.7, 198.51.100.9")) == "198.51.100.9"


def test_two_trusted_proxies_count_from_the_right(settings):
    settings.STREETTEAM_TRUSTED_PROXY_HOPS = 2
    forwarded = "203.0.113.7, 198.51.100.9, 10.0.0.2"
    assert client_ip(request_from(PROXY, forwarded)) == "198.51.100.9"


@pytest.mark.parametrize("forwarded", [None, "", "not-an-address", " , "])
def test_a_missing_or_junk_header_falls_back_to_the_proxy_never_a_500(settings, forwarded):
    settings.STREETTEAM_TRUSTED_PROXY_HOPS = 1
    assert client_ip(request_from(PROXY, forwarded)) == PROXY


def test_allauth_rate_limits_key_on_the_same_address(settings):
    settings.STREETTEAM_TRUSTED_PROXY_HOPS = 1
    request = request_from(PROXY, "203.0.113.7, 198.51.100.9")
    assert get_adapter(request).get_client_ip(request) == "198.51.100.9"


def miss(client, forwarded: str):
    return client.get("/r/NO-SUCH-CODE", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


def test_behind_the_proxy_two_shoppers_get_separate_buckets(client, settings, rep_code):
    settings.STREETTEAM_TRUSTED_PROXY_HOPS = 1
    settings.STREETTEAM_RATE_LIMITS = {"redirect_miss": "2/600"}
    guesser, shopper = "203.0.113.7", "198.51.100.9"
    assert [miss(client, guesser).status_code for _ in range(3)] == [404, 404, 429]
    response = client.get(f"/r/{rep_code.code}", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=shopper)
    assert response.status_code == 302
    # Prepending the shopper's address doesn't move the guesser into the shopper's bucket.
    assert miss(client, f"{shopper}, {guesser}").status_code == 429
    assert miss(client, shopper).status_code == 404


def test_behind_the_proxy_the_click_hashes_the_shoppers_address(client, settings, rep_code):
    settings.STREETTEAM_TRUSTED_PROXY_HOPS = 1
    client.get(f"/r/{rep_code.code}", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.9")
    clicks_drain()
    assert Click.objects.get().ip_hash == ip_hash("198.51.100.9")


def test_without_trusted_proxies_a_spoofed_header_can_not_escape_the_limit(
    client, settings, rep_code
):
    settings.STREETTEAM_TRUSTED_PROXY_HOPS = 0
    settings.STREETTEAM_RATE_LIMITS = {"redirect_miss": "1/600"}
    first = client.get("/r/NO-SUCH-CODE", REMOTE_ADDR="203.0.113.7")
    spoofed = client.get(
        "/r/NO-SUCH-CODE", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.9"
    )
    assert [first.status_code, spoofed.status_code] == [404, 429]
