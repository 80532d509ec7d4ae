"""Rep codes mirrored as Stripe promotion codes under a coupon per programme (against the fake
Stripe server, Celery eager), `manage.py stripe_sync`, and attribution from the promotion code a
shopper typed in Stripe Checkout."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from advocacy.models import Advocate, Programme, RepCode, RewardKind
from advocacy.services import repcode_create_vanity, repcode_deactivate, repcode_issue
from referrals.models import Attribution, Commission, Order
from referrals.stripe import client as stripe_api
from referrals.stripe import tasks
from referrals.stripe.promotion_codes import Kind, repcode_promotion_sync, stripe_sync_all

from ..factories import AdvocateFactory, RepCodeFactory
from .test_stripe_webhooks import SECRET, deliver, event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRETS = [SECRET]


@pytest.fixture
def issue(advocate, django_capture_on_commit_callbacks):
    """Issue a code the way joining does, letting the on-commit sync run."""

    def _issue(advocate=advocate, **kwargs) -> RepCode:
        with django_capture_on_commit_callbacks(execute=True):
            rep = repcode_issue(advocate=advocate, **kwargs)
        rep.refresh_from_db()
        return rep

    return _issue


def promotion_code(fake_stripe, rep: RepCode) -> dict:
    return fake_stripe.store["promotion_code"][rep.stripe_promotion_code_id]


def coupon_of(promotion: dict) -> str:
    return promotion["promotion"]["coupon"]


# Mirroring ------------------------------------------------------------------------------------


def test_issuing_a_code_creates_a_promotion_code_with_its_text_under_the_programmes_coupon(
    fake_stripe, programme, issue
):
    rep = issue()

    [coupon] = fake_stripe.coupons
    assert (coupon["percent_off"], coupon["amount_off"], coupon["duration"]) == (20, None, "once")
    assert coupon["metadata"]["programme_id"] == str(programme.pk)
    assert coupon["name"] == programme.name[:40]
    [promotion] = fake_stripe.promotion_codes
    assert promotion["code"] == rep.code
    assert promotion["active"] is True
    assert coupon_of(promotion) == coupon["id"]
    assert promotion["metadata"] == {
        "rep_code_id": str(rep.pk),
        "rep_code": rep.code,
        "advocate_id": str(rep.advocate_id),
        "programme_id": str(programme.pk),
    }
    programme.refresh_from_db()
    assert programme.stripe_coupon_id == coupon["id"]
    assert rep.stripe_promotion_code_id == promotion["id"]
    assert rep.stripe_synced_at is not None
    assert rep.stripe_sync_error == ""


def test_a_second_code_reuses_the_programmes_coupon(fake_stripe, issue):
    first, second = issue(), issue(channel="shop")

    assert len(fake_stripe.coupons) == 1
    assert {p["code"] for p in fake_stripe.promotion_codes} == {first.code, second.code}


def test_a_fixed_offer_is_an_amount_off_coupon_and_the_minimum_order_a_restriction(
    fake_stripe, programme, issue
):
    Programme.objects.filter(pk=programme.pk).update(
        currency="GBP",
        shopper_reward_kind=RewardKind.FIXED,
        shopper_reward_amount=500,
        shopper_min_order=2000,
        shopper_first_order_only=True,
    )

    rep = issue()

    [coupon] = fake_stripe.coupons
    assert (coupon["amount_off"], coupon["currency"], coupon["percent_off"]) == (500, "gbp", None)
    restrictions = promotion_code(fake_stripe, rep)["restrictions"]
    assert restrictions["minimum_amount"] == 2000
    assert restrictions["minimum_amount_currency"] == "gbp"
    assert restrictions["first_time_transaction"] is True


def test_deactivating_the_code_deactivates_its_promotion_code(
    fake_stripe, issue, django_capture_on_commit_callbacks
):
    rep = issue()

    with django_capture_on_commit_callbacks(execute=True):
        repcode_deactivate(rep_code=rep)

    assert promotion_code(fake_stripe, rep)["active"] is False
    assert len(fake_stripe.promotion_codes) == 1


def test_pausing_the_advocate_deactivates_their_codes_and_resuming_reactivates_them(
    fake_stripe, advocate, issue, django_capture_on_commit_callbacks
):
    rep = issue()

    advocate.status = Advocate.Status.PAUSED
    with django_capture_on_commit_callbacks(execute=True):
        advocate.save(update_fields=["status"])
    assert promotion_code(fake_stripe, rep)["active"] is False

    advocate.status = Advocate.Status.ACTIVE
    with django_capture_on_commit_callbacks(execute=True):
        advocate.save(update_fields=["status"])
    assert promotion_code(fake_stripe, rep)["active"] is True


def test_saving_what_stripe_does_not_mirror_sends_nothing(
    fake_stripe, advocate, issue, django_capture_on_commit_callbacks
):
    issue()
    sent = len(fake_stripe.requests)

    advocate.payout_details = {"email": "anna@example.com"}
    with django_capture_on_commit_callbacks(execute=True):
        advocate.save(update_fields=["payout_details"])

    assert len(fake_stripe.requests) == sent


def test_a_new_offer_moves_every_code_to_a_new_coupon(
    fake_stripe, programme, issue, django_capture_on_commit_callbacks
):
    rep = issue()
    old = promotion_code(fake_stripe, rep)

    programme.refresh_from_db()
    programme.shopper_reward_percent = Decimal("25")
    with django_capture_on_commit_callbacks(execute=True):
        programme.save()

    old_coupon, new_coupon = fake_stripe.coupons
    assert new_coupon["percent_off"] == 25
    rep.refresh_from_db()
    new = promotion_code(fake_stripe, rep)
    assert new["id"] != old["id"]
    assert (new["code"], new["active"], coupon_of(new)) == (rep.code, True, new_coupon["id"])
    assert fake_stripe.store["promotion_code"][old["id"]]["active"] is False
    assert coupon_of(fake_stripe.store["promotion_code"][old["id"]]) == old_coupon["id"]
    programme.refresh_from_db()
    assert programme.stripe_coupon_id == new_coupon["id"]


def test_renaming_the_programme_renames_the_coupon_without_moving_codes(
    fake_stripe, programme, issue, django_capture_on_commit_callbacks
):
    rep = issue()

    programme.refresh_from_db()
    programme.name = "Friends of the Trail"
    with django_capture_on_commit_callbacks(execute=True):
        programme.save()

    [coupon] = fake_stripe.coupons
    assert coupon["name"] == "Friends of the Trail"
    assert len(fake_stripe.promotion_codes) == 1
    assert promotion_code(fake_stripe, rep)["active"] is True


def test_pausing_the_programme_deactivates_its_codes(
    fake_stripe, programme, issue, django_capture_on_commit_callbacks
):
    codes = [issue(), issue(channel="shop")]

    programme.refresh_from_db()
    programme.status = Programme.Status.PAUSED
    with django_capture_on_commit_callbacks(execute=True):
        programme.save(update_fields=["status"])

    assert [promotion_code(fake_stripe, rep)["active"] for rep in codes] == [False, False]
    assert len(fake_stripe.coupons) == 1


def test_a_transient_stripe_500_is_retried_and_still_creates_exactly_one(fake_stripe, rep_code):
    # Stripe-Should-Retry: false hands the 500 straight to the task, which Celery retries
    # (apply() without throw runs the retry as a worker would, minus the countdown).
    fake_stripe.fail_next("POST", "/v1/promotion_codes", should_retry=False)

    result = tasks.stripe_repcode_promotion_sync.apply((rep_code.pk,), throw=False)

    assert result.successful()

    [promotion] = fake_stripe.promotion_codes
    failed, created = fake_stripe.requests_to("POST", "/v1/promotion_codes")
    assert (failed.status, created.status) == (500, 200)
    assert failed.idempotency_key == created.idempotency_key  # derived from our ids
    rep_code.refresh_from_db()
    assert rep_code.stripe_promotion_code_id == promotion["id"]
    assert rep_code.stripe_sync_error == ""


def test_a_promotion_code_whose_answer_was_lost_is_adopted_not_made_twice(fake_stripe, rep_code):
    first = repcode_promotion_sync(repcode_id=rep_code.pk)
    # The answer was lost: nothing recorded here, so the next run creates again.
    RepCode.objects.filter(pk=rep_code.pk).update(stripe_promotion_code_id="")

    second = repcode_promotion_sync(repcode_id=rep_code.pk)

    assert second == first
    assert len(fake_stripe.promotion_codes) == 1


def test_a_code_whose_text_stripe_already_uses_records_the_error_and_does_not_raise(
    fake_stripe, rep_code
):
    merchants = stripe_api.coupon_create(
        terms={"percent_off": "5", "duration": "once"},
        name="Merchant's own",
        metadata={},
        idempotency_key="merchant-coupon",
    )
    stripe_api.promotion_code_create(
        code=rep_code.code,
        coupon_id=merchants["id"],
        metadata={},
        restrictions={},
        idempotency_key="merchant-promo",
    )

    tasks.stripe_repcode_promotion_sync.delay(rep_code.pk)

    rep_code.refresh_from_db()
    assert "already exists" in rep_code.stripe_sync_error
    assert rep_code.stripe_promotion_code_id == ""
    merchants_create, ours = fake_stripe.requests_to("POST", "/v1/promotion_codes")  # no retry
    assert ours.status == 400


def test_with_no_key_the_integration_is_off_and_nothing_is_sent(
    fake_stripe, settings, advocate, issue, django_capture_on_commit_callbacks
):
    settings.STRIPE_SECRET_KEY = ""

    rep = issue()
    with django_capture_on_commit_callbacks(execute=True):
        repcode_deactivate(rep_code=rep)
    result = repcode_promotion_sync(repcode_id=rep.pk)
    out = StringIO()
    call_command("stripe_sync", "--apply", stdout=out, stderr=StringIO())

    assert result is None
    assert fake_stripe.requests == []
    assert out.getvalue().strip() == "Stripe integration is off (STRIPE_SECRET_KEY is not set)."
    rep.refresh_from_db()
    assert (rep.stripe_promotion_code_id, rep.stripe_synced_at) == ("", None)


# manage.py stripe_sync ------------------------------------------------------------------------


@pytest.fixture
def drifted(fake_stripe, programme, issue):
    """Four ways Stripe and we disagree, made behind the sync's back."""
    in_sync = issue()
    never_sent = RepCodeFactory(advocate=in_sync.advocate)  # no on-commit sync ran
    deactivated_here = issue(channel="old shop")
    RepCode.objects.filter(pk=deactivated_here.pk).update(is_active=False)
    deactivated_there = issue(channel="market")
    stripe_api.promotion_code_update(deactivated_there.stripe_promotion_code_id, active=False)
    programme.refresh_from_db()
    stray = stripe_api.promotion_code_create(
        code="DASHBOARD-MADE",
        coupon_id=programme.stripe_coupon_id,
        metadata={},
        restrictions={},
        idempotency_key="made-in-the-dashboard",
    )
    return {
        "in_sync": in_sync,
        "never_sent": never_sent,
        "deactivated_here": deactivated_here,
        "deactivated_there": deactivated_there,
        "stray": stray,
    }


def run_sync(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("stripe_sync", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def rows(out: str, kind: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(kind + " ")]


def test_stripe_sync_reports_differences_both_ways_and_changes_nothing(fake_stripe, drifted):
    sent = len(fake_stripe.requests)

    out, err = run_sync()

    [missing] = rows(out, Kind.CODE_MISSING)
    assert drifted["never_sent"].code in missing
    here, there = sorted(rows(out, Kind.ACTIVE_DIFFERS), key=lambda row: "inactive" in row)
    assert drifted["deactivated_here"].code in here  # still active in Stripe
    assert drifted["deactivated_there"].code in there
    [unknown] = rows(out, Kind.UNKNOWN)
    assert "DASHBOARD-MADE" in unknown
    assert drifted["in_sync"].code not in out
    assert "4 difference(s). Run with --apply to fix them." in out
    assert "Checking rep codes [" in err
    assert "4/4" in err
    assert {r.method for r in fake_stripe.requests[sent:]} == {"GET"}


def test_stripe_sync_apply_fixes_every_difference(fake_stripe, drifted):
    out, _ = run_sync("--apply")

    assert "Fixed 4 of 4 difference(s)." in out
    store = fake_stripe.store["promotion_code"]
    never_sent = RepCode.objects.get(pk=drifted["never_sent"].pk)
    assert store[never_sent.stripe_promotion_code_id]["active"] is True
    assert store[drifted["deactivated_here"].stripe_promotion_code_id]["active"] is False
    assert store[drifted["deactivated_there"].stripe_promotion_code_id]["active"] is True
    assert store[drifted["stray"]["id"]]["active"] is False
    again, _ = run_sync()
    assert "Stripe and Streetteam agree." in again


def test_stripe_sync_makes_a_missing_coupon_and_leaves_other_coupons_codes_alone(
    fake_stripe, programme, rep_code
):
    merchants = stripe_api.coupon_create(
        terms={"amount_off": 1000, "currency": "eur", "duration": "once"},
        name="Winter sale",
        metadata={},
        idempotency_key="merchant-coupon",
    )
    stripe_api.promotion_code_create(
        code="WINTER",
        coupon_id=merchants["id"],
        metadata={},
        restrictions={},
        idempotency_key="merchant-promo",
    )

    report = stripe_sync_all(apply=True)

    assert [d.kind for d in report.differences] == [Kind.COUPON_MISSING, Kind.CODE_MISSING]
    assert all(d.fixed for d in report.differences)
    programme.refresh_from_db()
    rep_code.refresh_from_db()
    promotion = promotion_code(fake_stripe, rep_code)
    assert coupon_of(promotion) == programme.stripe_coupon_id
    winter = next(p for p in fake_stripe.promotion_codes if p["code"] == "WINTER")
    assert winter["active"] is True


# Attribution from the promotion code ------------------------------------------------------------


def checkout(fake_stripe, *, promotion_code_id="", amount=10_000, **params) -> dict:
    """A Checkout Session at the fake Stripe, paid by the shopper: the completed event's object."""
    if promotion_code_id:
        params["discounts"] = [{"promotion_code": promotion_code_id}]
    session = (
        stripe_api.client()
        .v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "success_url": "https://shop.example/thanks",
                "line_items": [
                    {
                        "price_data": {
                            "currency": "eur",
                            "unit_amount": amount,
                            "product_data": {"name": "Trail shoes"},
                        },
                        "quantity": 1,
                    }
                ],
                **params,
            }
        )
        .to_dict()
    )
    return fake_stripe.checkout_session_complete(session["id"], email="friend@example.net")


def test_a_checkout_with_the_promotion_code_attributes_the_sale_to_its_advocate(
    client, django_capture_on_commit_callbacks, fake_stripe, issue
):
    rep = issue()
    session = checkout(fake_stripe, promotion_code_id=rep.stripe_promotion_code_id)

    deliver(
        client, django_capture_on_commit_callbacks, event("checkout.session.completed", session)
    )

    order = Order.objects.get()
    assert (order.rep_code, order.attribution) == (rep, Attribution.CODE)
    assert (order.gross_amount, order.discount_amount, order.net_amount) == (10_000, 2000, 8000)
    [commission] = order.commissions.all()
    assert commission.advocate == rep.advocate
    assert commission.status == Commission.Status.PENDING
    assert commission.amount == 800  # 10% of the net amount


def test_the_promotion_code_wins_over_metadata_and_client_reference_id(
    client, django_capture_on_commit_callbacks, fake_stripe, issue, other_rep_code
):
    rep = issue()
    third = RepCodeFactory(advocate=AdvocateFactory(programme=rep.advocate.programme))
    session = checkout(
        fake_stripe,
        promotion_code_id=rep.stripe_promotion_code_id,
        metadata={"rep_code": other_rep_code.code},
        client_reference_id=third.code,
    )

    deliver(
        client, django_capture_on_commit_callbacks, event("checkout.session.completed", session)
    )

    assert Order.objects.get().rep_code == rep


def test_without_a_promotion_code_metadata_wins_over_client_reference_id(
    client, django_capture_on_commit_callbacks, fake_stripe, rep_code, other_rep_code
):
    session = checkout(
        fake_stripe, metadata={"rep_code": other_rep_code.code}, client_reference_id=rep_code.code
    )

    deliver(
        client, django_capture_on_commit_callbacks, event("checkout.session.completed", session)
    )

    order = Order.objects.get()
    assert (order.rep_code, order.attribution) == (other_rep_code, Attribution.METADATA)


def test_an_expanded_promotion_code_in_the_payload_is_read_without_asking_stripe(
    client, django_capture_on_commit_callbacks, fake_stripe, issue
):
    rep = issue()
    completed = checkout(fake_stripe, promotion_code_id=rep.stripe_promotion_code_id)
    session = (
        stripe_api.client()
        .v1.checkout.sessions.retrieve(
            completed["id"],
            params={"expand": ["discounts.promotion_code", "total_details.breakdown"]},
        )
        .to_dict()
    )
    RepCode.objects.filter(pk=rep.pk).update(stripe_promotion_code_id="")  # unknown by id
    sent = len(fake_stripe.requests)

    deliver(
        client, django_capture_on_commit_callbacks, event("checkout.session.completed", session)
    )

    assert Order.objects.get().rep_code == rep
    assert len(fake_stripe.requests) == sent


def test_a_promotion_code_unknown_here_is_read_from_stripe_by_its_id(
    client, django_capture_on_commit_callbacks, fake_stripe, issue
):
    rep = issue()
    promotion_id = rep.stripe_promotion_code_id
    session = checkout(fake_stripe, promotion_code_id=promotion_id)
    # E.g. the code moved to a new coupon since: this id is no longer the one recorded.
    RepCode.objects.filter(pk=rep.pk).update(stripe_promotion_code_id="promo_newer")

    deliver(
        client, django_capture_on_commit_callbacks, event("checkout.session.completed", session)
    )

    order = Order.objects.get()
    assert (order.rep_code, order.attribution) == (rep, Attribution.CODE)
    assert fake_stripe.requests_to("GET", f"/v1/promotion_codes/{promotion_id}")


def test_the_merchants_own_promotion_code_leaves_attribution_to_metadata(
    client, django_capture_on_commit_callbacks, fake_stripe, rep_code
):
    merchants = stripe_api.coupon_create(
        terms={"percent_off": "10", "duration": "once"},
        name="Newsletter",
        metadata={},
        idempotency_key="merchant-coupon",
    )
    newsletter = stripe_api.promotion_code_create(
        code="NEWSLETTER10",
        coupon_id=merchants["id"],
        metadata={},
        restrictions={},
        idempotency_key="merchant-promo",
    )
    session = checkout(
        fake_stripe, promotion_code_id=newsletter["id"], metadata={"rep_code": rep_code.code}
    )

    deliver(
        client, django_capture_on_commit_callbacks, event("checkout.session.completed", session)
    )

    order = Order.objects.get()
    assert (order.rep_code, order.attribution) == (rep_code, Attribution.METADATA)
    assert order.discount_amount == 1000


def test_a_vanity_code_typed_in_checkout_is_attributed(
    client, django_capture_on_commit_callbacks, fake_stripe, advocate
):
    with django_capture_on_commit_callbacks(execute=True):
        vanity = repcode_create_vanity(advocate=advocate, code="trail-anna")
    vanity.refresh_from_db()
    assert promotion_code(fake_stripe, vanity)["code"] == "TRAIL-ANNA"
    session = checkout(fake_stripe, promotion_code_id=vanity.stripe_promotion_code_id)

    deliver(
        client, django_capture_on_commit_callbacks, event("checkout.session.completed", session)
    )

    assert Order.objects.get().rep_code == vanity
