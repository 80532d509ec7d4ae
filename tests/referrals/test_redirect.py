"""/r/<CODE>: a 302 with a signed cookie, never an open redirect, never a write on the request."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from advocacy.models import Advocate, Programme
from referrals.hashing import ip_hash
from referrals.links.buffer import get_click_buffer
from referrals.links.clicks import clicks_drain
from referrals.links.cookies import (
    read_referral_cookie,
    referral_cookie_value,
    visitor_id_mint,
    visitor_id_sign,
    visitor_id_verify,
)
from referrals.models import Click
from tests.factories import AdvocateFactory, ProgrammeFactory, RepCodeFactory

pytestmark = pytest.mark.django_db

COOKIE = "st_ref"
VISITOR = "st_vid"


@pytest.mark.parametrize("case", [str.upper, str.lower, str.title])
def test_code_in_any_letter_case_redirects_with_a_referral_cookie(client, rep_code, case):
    response = client.get(f"/r/{case(rep_code.code)}")
    assert response.status_code == 302
    assert COOKIE in response.cookies
    referral = read_referral_cookie(response.cookies[COOKIE].value)
    assert referral.code == rep_code.code  # the stored, upper-case form


def test_trailing_slash_redirects_too(client, rep_code):
    assert client.get(f"/r/{rep_code.code}/").status_code == 302


def test_referral_cookie_is_httponly_lax_signed_and_lasts_the_window(client, rep_code):
    response = client.get(f"/r/{rep_code.code}")
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 30 * 24 * 60 * 60
    assert cookie.value != rep_code.code  # signed, not the bare code
    referral = read_referral_cookie(cookie.value)
    assert abs(referral.clicked_at - timezone.now()) < timedelta(seconds=5)
    # The visitor cookie holds the id signed; the referral cookie the bare id inside its own
    # signature.
    assert visitor_id_verify(response.cookies[VISITOR].value) == referral.visitor_id
    assert response.cookies[VISITOR]["httponly"] is True


def test_cookie_is_secure_over_https(client, rep_code):
    response = client.get(f"/r/{rep_code.code}", secure=True)
    assert response.cookies[COOKIE]["secure"] is True


def test_returning_visitor_keeps_their_visitor_id(client, rep_code):
    visitor_id, signed = visitor_id_mint()
    client.cookies[VISITOR] = signed
    response = client.get(f"/r/{rep_code.code}")
    assert response.cookies[VISITOR].value == signed
    assert read_referral_cookie(response.cookies[COOKIE].value).visitor_id == visitor_id


@pytest.mark.parametrize(
    "planted",
    [
        pytest.param(lambda victim: victim, id="bare id"),
        pytest.param(
            lambda victim: visitor_id_sign("b" * 32).replace("b" * 32, victim),
            id="another id's signature",
        ),
        pytest.param(lambda victim: f"{victim}.{'A' * 43}", id="made-up signature"),
        pytest.param(lambda victim: "<script>", id="junk"),
        pytest.param(lambda victim: "caf\u00e9", id="non-ascii"),
    ],
)
def test_a_planted_visitor_id_gets_a_fresh_one_and_no_click(client, rep_code, planted):
    # Someone who learns a shopper's bare id (an old shop link carried it, the database holds
    # it) puts it in their own cookie and clicks their own link, to have the shopper's next
    # order attributed to that click.
    victim = "a" * 32
    client.cookies[VISITOR] = planted(victim)
    response = client.get(f"/r/{rep_code.code}")
    assert clicks_drain() == 1
    assert not Click.objects.filter(visitor_id=victim).exists()
    fresh = visitor_id_verify(response.cookies[VISITOR].value)
    assert fresh is not None
    assert Click.objects.get().visitor_id == fresh
    assert read_referral_cookie(response.cookies[COOKIE].value).visitor_id == fresh


def test_tampered_cookie_is_ignored(rep_code, other_rep_code):
    genuine = referral_cookie_value(rep_code.code, "visitor")
    forged = genuine.replace(rep_code.code, other_rep_code.code)
    assert read_referral_cookie(genuine).code == rep_code.code
    assert read_referral_cookie(forged) is None
    assert read_referral_cookie(genuine + "x") is None
    assert read_referral_cookie(f"{other_rep_code.code}.visitor") is None
    assert read_referral_cookie("") is None
    assert read_referral_cookie(None) is None


def test_tampered_cookie_does_not_prefill_checkout(client, rep_code, other_rep_code):
    genuine = referral_cookie_value(rep_code.code, "visitor")
    client.cookies[COOKIE] = genuine.replace(rep_code.code, other_rep_code.code)
    response = client.get("/shop/checkout/")
    assert response.context["form"].initial["code"] == ""
    assert other_rep_code.code not in response.text


def test_redirects_to_the_live_campaign_page(client, rep_code, campaign_page):
    response = client.get(f"/r/{rep_code.code}")
    assert response["Location"] == f"/spring-offer/?ref={rep_code.code}"
    landing = client.get(response["Location"])
    assert landing.status_code == 200


def test_campaign_page_of_another_programme_is_not_used(client, rep_code, home_page):
    from cms.models import CampaignPage

    home_page.add_child(
        instance=CampaignPage(title="Other", slug="other", programme=ProgrammeFactory())
    )
    response = client.get(f"/r/{rep_code.code}")
    assert response["Location"] == f"/?ref={rep_code.code}"


def test_unpublished_campaign_page_is_not_used(client, rep_code, campaign_page):
    campaign_page.unpublish()
    response = client.get(f"/r/{rep_code.code}")
    assert response["Location"] == f"/?ref={rep_code.code}"


def test_redirects_to_the_merchants_landing_url_with_its_own_parameters(client):
    # st_code, not ref: `ref` is a name other tools put on shop URLs too, and the merchant script
    # trusts only what Streetteam writes (the code, the programme's window, the visitor id).
    programme = ProgrammeFactory(
        landing_url="https://shop.example.com/spring?utm_source=st", attribution_window_days=7
    )
    rep = RepCodeFactory(advocate=AdvocateFactory(programme=programme))
    response = client.get(f"/r/{rep.code.lower()}")
    visitor = response.cookies["st_vid"].value
    assert response["Location"] == (
        f"https://shop.example.com/spring?utm_source=st&st_code={rep.code}&st_win=7"
        f"&st_vid={visitor}"
    )
    # The script keeps the referral exactly as long as our own cookie does.
    assert int(response.cookies[COOKIE]["max-age"]) == 7 * 24 * 60 * 60


def test_a_changed_window_reaches_the_merchant_link_at_once(client):
    programme = ProgrammeFactory(landing_url="https://shop.example.com/", attribution_window_days=7)
    rep = RepCodeFactory(advocate=AdvocateFactory(programme=programme))
    assert "&st_win=7&" in client.get(f"/r/{rep.code}")["Location"]
    programme.attribution_window_days = 3
    programme.save()
    assert "&st_win=3&" in client.get(f"/r/{rep.code}")["Location"]


def test_our_own_pages_keep_the_plain_ref(client, rep_code, campaign_page):
    location = client.get(f"/r/{rep_code.code}")["Location"]
    assert "st_code" not in location
    assert "st_win" not in location
    assert "st_vid" not in location  # our pages read the visitor id from our own cookie


@pytest.mark.parametrize(
    "query",
    [
        "next=https://evil.example",
        "redirect_to=https://evil.example",
        "url=//evil.example",
        "ref=EVIL&next=/\\evil.example",
    ],
)
def test_no_open_redirect(client, rep_code, campaign_page, query):
    response = client.get(f"/r/{rep_code.code}?{query}")
    assert response.status_code == 302
    assert response["Location"] == f"/spring-offer/?ref={rep_code.code}"
    assert "evil" not in response["Location"].lower()


def test_landing_url_with_a_non_http_scheme_is_not_followed(client):
    programme = ProgrammeFactory()
    Programme.objects.filter(pk=programme.pk).update(landing_url="javascript:alert(1)")
    rep = RepCodeFactory(advocate=AdvocateFactory(programme=programme))
    response = client.get(f"/r/{rep.code}")
    assert response["Location"] == f"/?ref={rep.code}"


def assert_friendly_404(response):
    assert response.status_code == 404
    assert "find that code" in response.text
    assert "Ask your friend" in response.text
    assert COOKIE not in response.cookies


def test_unknown_code_is_a_friendly_404(client):
    assert_friendly_404(client.get("/r/NOSUCHCODE"))


def test_absurdly_long_code_is_a_friendly_404(client):
    assert_friendly_404(client.get("/r/" + "A" * 500))


@pytest.mark.parametrize("junk", ["AB%00CD", "%E2%80%AE", "A%20B", "..", "%3Cscript%3E"])
def test_junk_in_the_code_is_a_friendly_404(client, junk):
    assert_friendly_404(client.get(f"/r/{junk}"))


def test_deactivated_code_is_a_friendly_404(client, rep_code):
    rep_code.is_active = False
    rep_code.save()
    assert_friendly_404(client.get(f"/r/{rep_code.code}"))


# The 404 page offers the merchant's shop when it can tell which one: a shopper with a mistyped
# code may still buy, and type the right code at checkout.
SHOP_BUTTON = "Go to the shop at"


def shop_link(response) -> str | None:
    import re

    assert_friendly_404(response)
    match = re.search(
        r'<a class="btn btn-primary" href="([^"]*)"[^>]*>Go to the shop at', response.text
    )
    return match.group(1) if match else None


def test_unknown_code_offers_the_only_merchant_shop(client):
    ProgrammeFactory(landing_url="https://shop.example.com/spring?utm_source=st")
    ProgrammeFactory(landing_url="")  # a programme on our own campaign page: no shop to offer
    ProgrammeFactory(landing_url="https://old.example.com/", status=Programme.Status.ENDED)
    response = client.get("/r/NOSUCHCODE")
    assert shop_link(response) == "https://shop.example.com/spring?utm_source=st"
    assert f"{SHOP_BUTTON} shop.example.com" in response.text
    assert "Back to the home page" in response.text


def test_unknown_code_with_several_merchant_shops_offers_the_one_the_link_names(client):
    ProgrammeFactory(landing_url="https://a.example.com/", slug="alpha")
    ProgrammeFactory(landing_url="https://b.example.com/", slug="beta")
    assert shop_link(client.get("/r/NOSUCHCODE")) is None  # which one? our home page, then
    assert shop_link(client.get("/r/NOSUCHCODE?to=beta")) == "https://b.example.com/"
    assert shop_link(client.get("/r/NOSUCHCODE?to=gamma")) is None
    assert shop_link(client.get("/r/NOSUCHCODE?to=https://evil.example")) is None


def test_an_unusable_code_offers_its_own_programmes_shop(client):
    mine = ProgrammeFactory(landing_url="https://mine.example.com/")
    ProgrammeFactory(landing_url="https://other.example.com/", slug="other")
    rep = RepCodeFactory(advocate=AdvocateFactory(programme=mine), is_active=False)
    assert shop_link(client.get(f"/r/{rep.code}")) == "https://mine.example.com/"
    assert shop_link(client.get(f"/r/{rep.code}?to=other")) == "https://mine.example.com/"


def test_a_code_of_an_ended_programme_offers_no_shop(client):
    ended = ProgrammeFactory(landing_url="https://old.example.com/", status=Programme.Status.ENDED)
    ProgrammeFactory(landing_url="https://other.example.com/")
    rep = RepCodeFactory(advocate=AdvocateFactory(programme=ended))
    assert shop_link(client.get(f"/r/{rep.code}")) is None


def test_a_landing_url_with_a_non_http_scheme_is_never_offered(client):
    programme = ProgrammeFactory()
    Programme.objects.filter(pk=programme.pk).update(landing_url="javascript:alert(1)")
    response = client.get("/r/NOSUCHCODE")
    assert shop_link(response) is None
    assert "javascript:" not in response.text


@pytest.mark.parametrize(
    "status", [Programme.Status.PAUSED, Programme.Status.ENDED, Programme.Status.DRAFT]
)
def test_code_of_an_inactive_programme_is_a_friendly_404(client, rep_code, status):
    Programme.objects.filter(pk=rep_code.advocate.programme_id).update(status=status)
    assert_friendly_404(client.get(f"/r/{rep_code.code}"))


@pytest.mark.parametrize(
    "status", [Advocate.Status.PAUSED, Advocate.Status.BANNED, Advocate.Status.INVITED]
)
def test_code_of_an_inactive_advocate_is_a_friendly_404(client, rep_code, status):
    Advocate.objects.filter(pk=rep_code.advocate_id).update(status=status)
    assert_friendly_404(client.get(f"/r/{rep_code.code}"))


def test_post_is_not_allowed(client, rep_code):
    assert client.post(f"/r/{rep_code.code}").status_code == 405


class TestClickPath:
    def test_no_database_write_on_the_request(self, client, rep_code, campaign_page):
        client.get(f"/r/{rep_code.code}")  # warm Wagtail's site cache
        get_click_buffer().pop_batch(10)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/r/{rep_code.code}")
        assert response.status_code == 302
        statements = [q["sql"].lstrip().split()[0].upper() for q in queries]
        # Reads at most (a warm code cache makes none: tests/referrals/test_hot_path.py).
        assert set(statements) <= {"SELECT"}, statements
        assert not Click.objects.exists()
        assert len(get_click_buffer()) == 1

    def test_click_appears_after_the_drain(self, client, rep_code):
        response = client.get(
            f"/r/{rep_code.code.lower()}",
            HTTP_USER_AGENT="Mozilla/5.0 test",
            HTTP_REFERER="https://social.example/post/1",
            REMOTE_ADDR="203.0.113.7",
        )
        assert not Click.objects.exists()
        assert clicks_drain() == 1
        click = Click.objects.get()
        assert click.rep_code == rep_code
        assert click.advocate == rep_code.advocate
        assert visitor_id_sign(click.visitor_id) == response.cookies[VISITOR].value
        assert click.user_agent == "Mozilla/5.0 test"
        assert click.referrer == "https://social.example/post/1"
        assert click.landing == response["Location"]
        assert click.ip_hash == ip_hash("203.0.113.7")
        assert "203.0.113.7" not in click.ip_hash
        assert abs(click.created_at - timezone.now()) < timedelta(seconds=5)

    def test_drain_writes_every_buffered_click_once(self, client, rep_code, other_rep_code):
        for _ in range(3):
            client.get(f"/r/{rep_code.code}")
        client.get(f"/r/{other_rep_code.code}")
        assert clicks_drain() == 4
        assert clicks_drain() == 0
        assert Click.objects.filter(advocate=rep_code.advocate).count() == 3
        assert Click.objects.filter(advocate=other_rep_code.advocate).count() == 1

    def test_drain_in_batches(self, client, rep_code, settings):
        settings.STREETTEAM_CLICK_BATCH_SIZE = 2
        for _ in range(5):
            client.get(f"/r/{rep_code.code}")
        assert clicks_drain(max_batches=2) == 4
        assert clicks_drain() == 1
        assert Click.objects.count() == 5

    def test_failed_drain_puts_the_batch_back(self, client, rep_code, monkeypatch):
        client.get(f"/r/{rep_code.code}")

        def broken_bulk_create(*args, **kwargs):
            raise RuntimeError("database down")

        monkeypatch.setattr(Click.objects, "bulk_create", broken_bulk_create)
        with pytest.raises(RuntimeError):
            clicks_drain()
        monkeypatch.undo()
        assert len(get_click_buffer()) == 1
        assert clicks_drain() == 1

    def test_unknown_code_records_no_click(self, client):
        client.get("/r/NOSUCHCODE")
        assert len(get_click_buffer()) == 0

    def test_drain_task_runs_eagerly(self, client, rep_code):
        from referrals.links.tasks import clicks_drain as clicks_drain_task

        client.get(f"/r/{rep_code.code}")
        assert clicks_drain_task.delay().get() == 1
        assert Click.objects.count() == 1


def test_campaign_page_greets_the_shopper_with_the_advocates_name(client, rep_code, campaign_page):
    response = client.get(f"/r/{rep_code.code}", follow=True)
    assert response.status_code == 200
    greeting = response.context["greeting"]
    assert greeting.code == rep_code.code
    assert greeting.advocate_first_name == rep_code.advocate.user.first_name
    assert rep_code.advocate.user.first_name in response.text
    assert "20% off" in response.text


def test_campaign_page_ignores_a_ref_for_another_programme(client, campaign_page):
    stranger = RepCodeFactory()
    response = client.get(f"/spring-offer/?ref={stranger.code}")
    assert response.status_code == 200
    assert response.context["greeting"] is None


def _never_cache_headers():
    expected = HttpResponse()
    add_never_cache_headers(expected)
    return {name: expected[name] for name in ("Cache-Control", "Expires")}


def test_every_answer_is_marked_never_to_be_cached_as_django_marks_it(
    client, rep_code, settings, monkeypatch
):
    # A cached redirect would skip the click and the cookie; a cached 404 or 429 would outlive
    # the code's activation or the block.
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.5)
    settings.STREETTEAM_RATE_LIMITS = {"redirect_miss": "1/600"}
    found = client.get(f"/r/{rep_code.code}")
    missing = client.get("/r/NOSUCHCODE")
    blocked = client.get(f"/r/{rep_code.code}")
    assert [r.status_code for r in (found, missing, blocked)] == [302, 404, 429]
    for response in (found, missing, blocked):
        assert {name: response[name] for name in ("Cache-Control", "Expires")} == (
            _never_cache_headers()
        )


def test_the_merchants_shop_takes_the_demo_shops_place(client, settings):
    from django.urls import reverse

    settings.STREETTEAM_SANDBOX_STORE = True
    demo = f'<a class="btn btn-primary" href="{reverse("sandbox_shop")}">Go to the shop</a>'
    assert demo in client.get("/r/NOSUCHCODE").text
    ProgrammeFactory(landing_url="https://shop.example.com/")
    response = client.get("/r/NOSUCHCODE")
    assert shop_link(response) == "https://shop.example.com/"
    assert demo not in response.text
