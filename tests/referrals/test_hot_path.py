"""/r/<CODE> on a warm cache: no database query at all, and every change is seen at once (the
cached code lookup, referrals.links.cache, is the API's code lookup's too)."""

import pytest
from django.core.cache import cache

from advocacy.cache import GENERATION_KEY
from advocacy.models import Advocate, Programme
from advocacy.services import repcode_create_vanity, repcode_deactivate
from referrals.links.buffer import get_click_buffer
from referrals.links.cache import (
    card_from_database,
    card_load,
    card_lookup,
    targets_generation,
    targets_invalidate,
)
from referrals.links.selectors import referral_target

pytestmark = pytest.mark.django_db


def test_a_warm_redirect_makes_no_query(client, rep_code, campaign_page, django_assert_num_queries):
    first = client.get(f"/r/{rep_code.code}")
    assert first.status_code == 302
    with django_assert_num_queries(0):
        second = client.get(f"/r/{rep_code.code.lower()}")
    assert second.status_code == 302
    assert second["Location"] == first["Location"]
    assert len(get_click_buffer()) == 2  # both clicks recorded


def test_a_warm_miss_makes_no_query(client, db, django_assert_num_queries):
    # The lookup, that is: the 404 page's template may read Wagtail's site.
    assert client.get("/r/NOSUCHCODE").status_code == 404
    with django_assert_num_queries(0):
        assert referral_target("nosuchcode") is None


def test_junk_makes_no_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert referral_target("\x00\x00\x00") is None
        assert referral_target("a b") is None


def _warm(client, code):
    assert client.get(f"/r/{code}").status_code == 302


def test_deactivating_a_code_is_seen_at_once(client, rep_code):
    _warm(client, rep_code.code)
    repcode_deactivate(rep_code=rep_code)
    assert client.get(f"/r/{rep_code.code}").status_code == 404


def test_a_new_vanity_code_replaces_a_cached_miss(client, advocate):
    assert client.get("/r/ANNA10").status_code == 404
    repcode_create_vanity(advocate=advocate, code="anna10")
    assert client.get("/r/ANNA10").status_code == 302


@pytest.mark.parametrize("status", [Advocate.Status.PAUSED, Advocate.Status.BANNED])
def test_pausing_the_advocate_by_a_plain_save_is_seen_at_once(client, rep_code, status):
    _warm(client, rep_code.code)
    advocate = Advocate.objects.get(pk=rep_code.advocate_id)
    advocate.status = status
    advocate.save()  # as the Wagtail admin's edit view does
    assert client.get(f"/r/{rep_code.code}").status_code == 404


def test_pausing_the_programme_by_a_plain_save_is_seen_at_once(client, rep_code):
    _warm(client, rep_code.code)
    programme = Programme.objects.get(pk=rep_code.advocate.programme_id)
    programme.status = Programme.Status.PAUSED
    programme.save()
    assert client.get(f"/r/{rep_code.code}").status_code == 404
    programme.status = Programme.Status.ACTIVE
    programme.save()
    assert client.get(f"/r/{rep_code.code}").status_code == 302


def test_a_code_deactivated_by_a_plain_save_is_seen_at_once(client, rep_code):
    _warm(client, rep_code.code)
    rep_code.is_active = False
    rep_code.save()
    assert client.get(f"/r/{rep_code.code}").status_code == 404


def test_a_changed_landing_url_is_seen_at_once(client, rep_code):
    _warm(client, rep_code.code)
    programme = rep_code.advocate.programme
    programme.landing_url = "https://shop.example/spring"
    programme.save()
    response = client.get(f"/r/{rep_code.code}")
    assert response["Location"].startswith("https://shop.example/spring?st_code=")


def test_publishing_a_campaign_page_changes_where_links_land(client, rep_code, home_page):
    from cms.models import CampaignPage

    before = client.get(f"/r/{rep_code.code}")["Location"]
    page = home_page.add_child(
        instance=CampaignPage(
            title="Spring", slug="spring", programme=rep_code.advocate.programme, live=False
        )
    )
    assert client.get(f"/r/{rep_code.code}")["Location"] == before  # a draft changes nothing
    page.save_revision().publish()
    after = client.get(f"/r/{rep_code.code}")["Location"]
    assert after != before
    assert "/spring/" in after
    CampaignPage.objects.get(pk=page.pk).unpublish()
    assert client.get(f"/r/{rep_code.code}")["Location"] == before


def test_queryset_update_needs_an_explicit_invalidate(client, rep_code):
    _warm(client, rep_code.code)
    Advocate.objects.filter(pk=rep_code.advocate_id).update(status=Advocate.Status.PAUSED)
    assert client.get(f"/r/{rep_code.code}").status_code == 302  # still cached: documented
    targets_invalidate()
    assert client.get(f"/r/{rep_code.code}").status_code == 404


def test_the_generation_survives_a_lost_key():
    first = targets_generation()
    cache.clear()
    second = targets_generation()
    assert second != first
    targets_invalidate()
    assert targets_generation() != second


def test_a_blocked_guesser_waits_even_for_a_real_code(client, rep_code, settings):
    # The rate limit is read with the cached lookup; a hit must not skip it, or the 302s would
    # tell a blocked guesser which of its guesses exist.
    settings.STREETTEAM_RATE_LIMITS = {"code_lookup": "30/600", "redirect_miss": "2/600"}
    _warm(client, rep_code.code)
    assert client.get("/r/GUESS1234").status_code == 404
    assert client.get("/r/GUESS1235").status_code == 404
    response = client.get(f"/r/{rep_code.code}")
    assert response.status_code == 429
    assert "st_ref" not in response.cookies
    assert len(get_click_buffer()) == 1  # only the warm-up's click


def test_an_answer_read_before_a_change_is_never_served_after_it(rep_code, monkeypatch):
    from referrals.links import cache as code_cache

    lookup = card_lookup(rep_code.code)
    assert not lookup.hit
    old = card_from_database(rep_code.code)  # read from the database...
    repcode_deactivate(rep_code=rep_code)  # ...then the code changes before the answer is cached
    monkeypatch.setattr(code_cache, "card_from_database", lambda code: old)
    assert card_load(lookup) == old  # the answer of that request, cached under its generation
    monkeypatch.undo()
    assert card_lookup(rep_code.code).hit is False
    assert referral_target(rep_code.code) is None


def test_entries_are_not_trusted_when_the_generation_is_lost(rep_code):
    assert referral_target(rep_code.code) is not None
    assert card_lookup(rep_code.code).hit
    cache.delete(GENERATION_KEY)  # evicted, say, while the entries stayed
    assert card_lookup(rep_code.code).hit is False
    assert referral_target(rep_code.code) is not None
    assert card_lookup(rep_code.code).hit


def test_one_lookup_also_reads_the_callers_keys(rep_code):
    cache.set("rl:test", 3)
    lookup = card_lookup(rep_code.code, extra_keys=["rl:test", "rl:absent"])
    assert lookup.extras == {"rl:test": 3}
    assert card_lookup("not a code", extra_keys=["rl:test"]).extras == {"rl:test": 3}


def test_a_cold_redirect_reads_the_code_once(client, rep_code, django_assert_num_queries):
    """A miss in the cache is answered by one database read (the code with its advocate, user
    and programme), not by a second lookup through the cache first."""
    from referrals.links import cache as code_cache

    reads = []
    real = code_cache.card_from_database
    lookups = []
    real_lookup = code_cache.cache.get_many

    def counted_read(code):
        reads.append(code)
        return real(code)

    def counted_lookup(keys):
        lookups.append(list(keys))
        return real_lookup(keys)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(code_cache, "card_from_database", counted_read)
        patch.setattr(code_cache.cache, "get_many", counted_lookup)
        assert client.get(f"/r/{rep_code.code}").status_code == 302
    assert reads == [rep_code.code]
    assert len(lookups) == 1


def test_an_unusable_code_is_a_404_for_the_link_and_a_reason_for_the_api(client, rep_code):
    """One cached card answers both: /r/ treats an inactive code as unknown, the API says why."""
    repcode_deactivate(rep_code=rep_code)
    assert client.get(f"/r/{rep_code.code}").status_code == 404
    card = card_load(card_lookup(rep_code.code))
    assert card.unusable[0] == "code_inactive"
    assert card_lookup(rep_code.code).hit  # cached for both
