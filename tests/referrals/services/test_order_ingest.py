"""order_ingest: the one door every sale comes through (an order at most once, a commission at
most once per rule)."""

from datetime import datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advocacy.models import Advocate, Programme
from kernel.errors import ServiceError
from referrals.hashing import email_hash
from referrals.links.cookies import LinkReferral
from referrals.models import (
    Attribution,
    Commission,
    DiscountRedemption,
    FraudSignal,
    LedgerEntry,
    Order,
    ReferredAccount,
)
from referrals.services import orders
from referrals.services.orders import order_ingest
from referrals.services.stores import store_built_in
from tests.factories import AdvocateFactory, ProgrammeFactory, RepCodeFactory, UserFactory

pytestmark = pytest.mark.django_db

# A recent order time (shops may not send orders older than STREETTEAM_ORDER_MAX_AGE_DAYS).
PLACED = (timezone.now() - timedelta(days=2)).replace(microsecond=0)


def held_from_receipt(commission) -> timedelta:
    """How long the hold runs from when the order was recorded, to the minute."""
    held = commission.hold_until - commission.order.created_at
    return timedelta(minutes=round(held.total_seconds() / 60))


def ingest(**overrides):
    kwargs = {
        "source": "api",
        "external_id": "order-1",
        "currency": "EUR",
        "gross_amount": 10000,
        "shopper_email": "shopper@example.com",
        "placed_at": PLACED,
    }
    kwargs.update(overrides)
    return order_ingest(**kwargs)


def link_to(rep_code, clicked_at=PLACED - timedelta(days=1)):
    return LinkReferral(code=rep_code.code, visitor_id="v" * 32, clicked_at=clicked_at)


def nothing_stored():
    return not (
        Order.objects.exists()
        or Commission.objects.exists()
        or LedgerEntry.objects.exists()
        or DiscountRedemption.objects.exists()
        or FraudSignal.objects.exists()
    )


class TestIdempotency:
    def test_same_order_ingested_twice_gives_one_order_and_one_commission(self, rep_code):
        first = ingest(code=rep_code.code)
        second = ingest(code=rep_code.code)
        assert first.created
        assert not second.created
        assert second.order.pk == first.order.pk
        assert second.commission.pk == first.commission.pk
        assert Order.objects.count() == 1
        assert Commission.objects.count() == 1
        assert LedgerEntry.objects.count() == 1

    def test_replay_with_different_amounts_changes_nothing(self, rep_code):
        ingest(code=rep_code.code, gross_amount=10000)
        replay = ingest(code=rep_code.code, gross_amount=99999, discount_amount=5)
        assert not replay.created
        order = Order.objects.get()
        assert (order.gross_amount, order.discount_amount) == (10000, 0)
        assert Commission.objects.get().amount == 1000

    def test_same_external_id_from_another_source_is_another_order(self, rep_code):
        ingest(source="api", code=rep_code.code)
        ingest(source="sandbox", code=rep_code.code)
        assert Order.objects.count() == 2
        assert Commission.objects.count() == 2

    def test_external_id_is_stripped_before_matching(self, rep_code):
        ingest(external_id="order-1", code=rep_code.code)
        replay = ingest(external_id="  order-1  ", code=rep_code.code)
        assert not replay.created
        assert Order.objects.count() == 1

    def test_database_rejects_a_duplicate_order_insert(self):
        Order.objects.create(
            source="api",
            store=store_built_in("api"),
            external_id="dup",
            currency="EUR",
            gross_amount=100,
            net_amount=100,
            placed_at=PLACED,
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            Order.objects.create(
                source="api",
                store=store_built_in("api"),
                external_id="dup",
                currency="EUR",
                gross_amount=100,
                net_amount=100,
                placed_at=PLACED,
            )

    def test_order_arriving_concurrently_between_check_and_insert_is_stored_once(
        self, rep_code, monkeypatch
    ):
        """Another request stores the same order after our existence check but before our
        insert: the unique constraint decides, and we hand back the winner's order."""
        real_resolve = orders.resolve_attribution
        raced = []

        def resolve_after_the_other_request_won(**kwargs):
            if not raced:
                raced.append(None)
                raced[0] = ingest(code=rep_code.code)  # the concurrent request
            return real_resolve(**kwargs)

        monkeypatch.setattr(orders, "resolve_attribution", resolve_after_the_other_request_won)
        ours = ingest(code=rep_code.code)
        assert raced[0].created
        assert not ours.created
        assert ours.order.pk == raced[0].order.pk
        assert Order.objects.count() == 1
        assert Commission.objects.count() == 1
        assert LedgerEntry.objects.count() == 1

    def test_database_allows_one_commission_per_order_advocate_and_rule(self, rep_code):
        commission = ingest(code=rep_code.code).commission
        with pytest.raises(IntegrityError), transaction.atomic():
            Commission.objects.create(
                order=commission.order,
                advocate=commission.advocate,
                rule=commission.rule,
                currency="EUR",
                base_amount=1,
                amount=1,
                hold_until=PLACED,
            )

    # differing_executors: `make mutate` runs the session again in one process (a new instance).
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.differing_executors,
        ],
    )
    @given(deliveries=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=12))
    def test_any_sequence_of_redeliveries_stores_each_order_once(self, rep_code, deliveries):
        with transaction.atomic():
            for external_id in deliveries:
                ingest(external_id=external_id, code=rep_code.code, shopper_email="")
            distinct = len(set(deliveries))
            assert Order.objects.count() == distinct
            assert Commission.objects.count() == distinct
            assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EARNED).count() == distinct
            total = sum(LedgerEntry.objects.values_list("amount", flat=True))
            assert total == 1000 * distinct
            transaction.set_rollback(True)


class TestAttribution:
    def test_typed_code_wins_over_the_link_cookie(self, rep_code, other_rep_code):
        result = ingest(code=rep_code.code, link=link_to(other_rep_code))
        assert result.order.attribution == Attribution.CODE
        assert result.order.rep_code == rep_code
        assert result.commission.advocate == rep_code.advocate
        assert not Commission.objects.filter(advocate=other_rep_code.advocate).exists()

    def test_typed_code_in_any_letter_case_attributes(self, rep_code):
        result = ingest(code=f"  {rep_code.code.lower()} ")
        assert result.order.rep_code == rep_code

    def test_link_within_the_window_attributes(self, rep_code):
        result = ingest(link=link_to(rep_code, clicked_at=PLACED - timedelta(days=3)))
        assert result.order.attribution == Attribution.LINK
        assert result.order.advocate == rep_code.advocate
        assert result.commission is not None

    def test_link_at_the_last_second_of_the_window_counts(self, rep_code):
        clicked = PLACED - timedelta(days=30)
        result = ingest(link=link_to(rep_code, clicked_at=clicked))
        assert result.order.attribution == Attribution.LINK
        assert result.commission is not None

    def test_link_one_second_past_the_window_does_not_count(self, rep_code):
        clicked = PLACED - timedelta(days=30, seconds=1)
        result = ingest(link=link_to(rep_code, clicked_at=clicked))
        assert result.order.attribution == Attribution.NONE
        assert result.order.rep_code is None
        assert result.commission is None
        assert not Commission.objects.exists()

    def test_window_is_the_programmes_own(self):
        rep = RepCodeFactory(
            advocate=AdvocateFactory(programme=ProgrammeFactory(attribution_window_days=7))
        )
        assert ingest(external_id="in", link=link_to(rep, PLACED - timedelta(days=7))).commission
        assert not ingest(
            external_id="out", link=link_to(rep, PLACED - timedelta(days=7, seconds=1))
        ).commission

    def test_expired_link_gives_no_attribution(self, rep_code):
        result = ingest(link=link_to(rep_code, clicked_at=PLACED - timedelta(days=90)))
        assert result.order.attribution == Attribution.NONE
        assert result.commission is None

    def test_click_after_the_order_beyond_the_clock_skew_does_not_count(self, rep_code):
        late = PLACED + orders.CLOCK_SKEW + timedelta(seconds=1)
        result = ingest(link=link_to(rep_code, clicked_at=late))
        assert result.order.attribution == Attribution.NONE

    def test_click_seconds_after_the_order_stamp_counts_as_clock_skew(self, rep_code):
        result = ingest(link=link_to(rep_code, clicked_at=PLACED + timedelta(seconds=2)))
        assert result.order.attribution == Attribution.LINK
        assert result.commission is not None

    def test_link_to_a_code_that_no_longer_exists_is_ignored(self, programme):
        link = LinkReferral(code="GONE12345", visitor_id="", clicked_at=PLACED)
        result = ingest(link=link)
        assert result.created
        assert result.order.attribution == Attribution.NONE

    def test_typed_unknown_code_is_noted_and_the_order_attributed_by_what_holds(self, rep_code):
        result = ingest(code="NOSUCHCODE", link=link_to(rep_code))
        assert result.created
        assert result.order.attribution == Attribution.LINK
        assert result.order.rejected_code == "NOSUCHCODE"
        assert result.commission is not None
        assert orders.order_warnings(result.order)

    def test_typed_unknown_code_alone_records_the_order_unattributed(self, rep_code):
        result = ingest(code="NOSUCHCODE")
        assert result.created
        assert result.order.attribution == Attribution.NONE
        assert result.order.rejected_code == "NOSUCHCODE"
        assert result.commission is None

    def test_order_with_no_referral_is_stored_without_commission(self, rep_code):
        result = ingest()
        assert result.created
        assert result.order.attribution == Attribution.NONE
        assert result.order.programme is None
        assert result.order.advocate is None
        assert result.commission is None
        assert not Commission.objects.exists()
        assert not LedgerEntry.objects.exists()

    def test_metadata_code_attributes_when_nothing_else_does(self, rep_code):
        result = ingest(metadata_code=rep_code.code.lower())
        assert result.order.attribution == Attribution.METADATA
        assert result.commission.advocate == rep_code.advocate

    def test_link_cookie_wins_over_metadata(self, rep_code, other_rep_code):
        result = ingest(link=link_to(rep_code), metadata_code=other_rep_code.code)
        assert result.order.attribution == Attribution.LINK
        assert result.order.rep_code == rep_code


class TestReferredAccount:
    def test_shopper_who_signed_up_after_a_link_is_attributed_without_the_cookie(
        self, client, rep_code
    ):
        client.get(f"/r/{rep_code.code}")  # sets the signed referral cookie on the client
        response = client.post(
            "/account/signup/",
            {
                "email": "newshopper@example.com",
                "first_name": "Nia",
                "password1": "a-long-Unusual-passphrase-42",
                "password2": "a-long-Unusual-passphrase-42",
            },
        )
        assert response.status_code == 302
        referred = ReferredAccount.objects.get(user__email="newshopper@example.com")
        assert referred.rep_code == rep_code

        shopper = referred.user
        client.cookies.clear()
        result = order_ingest(
            source="api",
            external_id="after-signup",
            currency="EUR",
            gross_amount=5000,
            shopper_user=shopper,
            shopper_email=shopper.email,
        )
        assert result.order.attribution == Attribution.ACCOUNT
        assert result.order.rep_code == rep_code
        assert result.commission.advocate == rep_code.advocate
        assert result.commission.amount == 500

    def test_signup_without_a_referral_cookie_binds_nothing(self, client, rep_code):
        response = client.post(
            "/account/signup/",
            {
                "email": "plain@example.com",
                "first_name": "Ola",
                "password1": "a-long-Unusual-passphrase-42",
                "password2": "a-long-Unusual-passphrase-42",
            },
        )
        assert response.status_code == 302
        assert not ReferredAccount.objects.exists()

    def test_account_referral_expires_with_the_window(self, rep_code):
        shopper = UserFactory()
        ReferredAccount.objects.create(
            user=shopper, rep_code=rep_code, clicked_at=PLACED - timedelta(days=31)
        )
        result = ingest(shopper_user=shopper, shopper_email=shopper.email)
        assert result.order.attribution == Attribution.NONE


class TestCommission:
    def test_commission_is_ten_percent_of_net_excluding_tax_and_shipping_rounded_half_up(
        self, rep_code
    ):
        result = ingest(
            code=rep_code.code,
            gross_amount=1255,
            discount_amount=250,
            tax_amount=200,
            shipping_amount=490,
        )
        order = result.order
        assert order.net_amount == 1005
        assert result.commission.base_amount == 1005
        assert result.commission.amount == 101  # 100.5 rounds up
        assert result.commission.currency == "EUR"

    def test_commission_rounds_down_below_the_half(self, rep_code):
        assert ingest(code=rep_code.code, gross_amount=1004).commission.amount == 100

    def test_commission_is_pending_and_held_for_the_programmes_hold_days(self, rep_code):
        commission = ingest(code=rep_code.code).commission
        assert commission.status == Commission.Status.PENDING
        assert held_from_receipt(commission) == timedelta(days=30)

    def test_hold_follows_the_programme(self):
        rep = RepCodeFactory(advocate=AdvocateFactory(programme=ProgrammeFactory(hold_days=14)))
        commission = ingest(code=rep.code).commission
        assert held_from_receipt(commission) == timedelta(days=14)

    def test_the_hold_counts_from_receipt_not_from_the_shops_placed_at(self, rep_code):
        """PLACED is two days ago: a hold from it would end two days early."""
        commission = ingest(code=rep_code.code).commission
        assert commission.hold_until > PLACED + timedelta(days=31)

    def test_earned_ledger_entry_is_written_with_the_commission(self, rep_code):
        commission = ingest(code=rep_code.code).commission
        entry = LedgerEntry.objects.get()
        assert entry.kind == LedgerEntry.Kind.EARNED
        assert entry.amount == commission.amount
        assert entry.currency == "EUR"
        assert entry.advocate == rep_code.advocate
        assert entry.commission == commission
        assert entry.reference == f"commission:{commission.pk}"

    def test_fixed_commission_is_never_more_than_the_net_amount(self):
        programme = ProgrammeFactory(advocate_reward_kind="fixed", advocate_reward_amount=1500)
        rep = RepCodeFactory(advocate=AdvocateFactory(programme=programme))
        assert ingest(external_id="big", code=rep.code, gross_amount=9000).commission.amount == 1500
        assert (
            ingest(
                external_id="small", code=rep.code, gross_amount=900, shopper_email="b@example.com"
            ).commission.amount
            == 900
        )

    def test_order_is_credited_to_the_advocate(self, rep_code):
        order = ingest(code=rep_code.code).order
        order.refresh_from_db()
        assert order.advocate == rep_code.advocate
        assert order.programme == rep_code.advocate.programme


class TestLedgerIsAppendOnly:
    @pytest.fixture
    def entry(self, rep_code):
        ingest(code=rep_code.code)
        return LedgerEntry.objects.get()

    def test_saving_an_existing_entry_is_refused(self, entry):
        entry.amount = 1
        with pytest.raises(TypeError):
            entry.save()
        entry.refresh_from_db()
        assert entry.amount == 1000

    def test_queryset_update_is_refused(self, entry):
        with pytest.raises(TypeError):
            LedgerEntry.objects.filter(pk=entry.pk).update(amount=0)
        with pytest.raises(TypeError):
            entry.advocate.ledger.update(amount=0)
        with pytest.raises(TypeError):
            LedgerEntry.objects.bulk_update([entry], ["amount"])

    def test_deleting_is_refused(self, entry):
        with pytest.raises(TypeError):
            entry.delete()
        with pytest.raises(TypeError):
            LedgerEntry.objects.all().delete()
        with pytest.raises(TypeError):
            entry.advocate.ledger.all().delete()
        assert LedgerEntry.objects.count() == 1

    def test_database_rejects_a_second_entry_with_the_same_kind_and_reference(self, entry):
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(
                advocate=entry.advocate,
                currency="EUR",
                amount=entry.amount,
                kind=entry.kind,
                reference=entry.reference,
            )

    def test_a_correction_is_a_new_entry(self, entry):
        LedgerEntry.objects.create(
            advocate=entry.advocate,
            currency="EUR",
            amount=-entry.amount,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            reference=f"{entry.reference}:fix",
        )
        assert sum(entry.advocate.ledger.values_list("amount", flat=True)) == 0


class TestNoCommissionButRecorded:
    @pytest.mark.parametrize("status", [Advocate.Status.PAUSED, Advocate.Status.BANNED])
    def test_inactive_advocate_at_order_time_gets_nothing_and_is_flagged(self, rep_code, status):
        Advocate.objects.filter(pk=rep_code.advocate_id).update(status=status)
        result = ingest(code=rep_code.code)
        assert result.created
        assert result.commission is None
        assert result.order.advocate is None
        assert result.notes
        assert not Commission.objects.exists()
        assert not LedgerEntry.objects.exists()
        signal = FraudSignal.objects.get()
        assert signal.kind == FraudSignal.Kind.ADVOCATE_INACTIVE
        assert signal.order == result.order
        assert signal.advocate == rep_code.advocate

    def test_advocate_paused_after_the_click_earns_nothing_from_the_link(self, rep_code):
        link = link_to(rep_code)
        Advocate.objects.filter(pk=rep_code.advocate_id).update(status=Advocate.Status.PAUSED)
        result = ingest(link=link)
        assert result.created
        assert result.commission is None
        assert FraudSignal.objects.get().kind == FraudSignal.Kind.ADVOCATE_INACTIVE

    def test_deactivated_code_earns_nothing_and_is_flagged(self, rep_code):
        rep_code.is_active = False
        rep_code.save()
        result = ingest(code=rep_code.code)
        assert result.created
        assert result.commission is None
        assert FraudSignal.objects.get().kind == FraudSignal.Kind.ADVOCATE_INACTIVE

    def test_paused_programme_earns_nothing_and_is_flagged(self, rep_code):
        Programme.objects.filter(pk=rep_code.advocate.programme_id).update(
            status=Programme.Status.PAUSED
        )
        result = ingest(code=rep_code.code)
        assert result.created
        assert result.commission is None
        assert FraudSignal.objects.get().kind == FraudSignal.Kind.PROGRAMME_INACTIVE

    def test_self_referral_by_the_same_user_earns_nothing_and_is_flagged(self, rep_code):
        result = ingest(
            code=rep_code.code, shopper_user=rep_code.advocate.user, shopper_email="x@example.org"
        )
        assert result.created
        assert result.commission is None
        assert result.order.advocate is None
        signal = FraudSignal.objects.get()
        assert signal.kind == FraudSignal.Kind.SELF_REFERRAL
        assert signal.advocate == rep_code.advocate
        assert not LedgerEntry.objects.exists()

    def test_self_referral_by_normalised_email_earns_nothing_and_is_flagged(self):
        advocate = AdvocateFactory(user=UserFactory(email="annasmith@googlemail.com"))
        rep = RepCodeFactory(advocate=advocate)
        result = ingest(code=rep.code, shopper_email="Anna.Smith+promo@gmail.com")
        assert result.created
        assert result.commission is None
        assert FraudSignal.objects.get().kind == FraudSignal.Kind.SELF_REFERRAL
        assert result.order.shopper_email_hash == email_hash("annasmith@gmail.com")

    def test_a_different_shopper_at_the_same_domain_is_not_a_self_referral(self):
        advocate = AdvocateFactory(user=UserFactory(email="annasmith@googlemail.com"))
        rep = RepCodeFactory(advocate=advocate)
        result = ingest(code=rep.code, shopper_email="anna.smyth@gmail.com")
        assert result.commission is not None
        assert not FraudSignal.objects.exists()


class TestOneUseOffer:
    def test_second_discounted_order_by_the_same_shopper_is_refused_and_rolled_back(self, rep_code):
        first = ingest(external_id="first", code=rep_code.code, discount_amount=2000)
        assert DiscountRedemption.objects.get().order == first.order
        with pytest.raises(ServiceError) as exc:
            ingest(
                external_id="second",
                code=rep_code.code,
                discount_amount=2000,
                shopper_email="SHOPPER@example.com",
            )
        assert exc.value.code == "offer_already_used"
        assert list(Order.objects.values_list("external_id", flat=True)) == ["first"]
        assert Commission.objects.count() == 1
        assert LedgerEntry.objects.count() == 1
        assert DiscountRedemption.objects.count() == 1

    def test_second_order_without_a_discount_is_fine(self, rep_code):
        ingest(external_id="first", code=rep_code.code, discount_amount=2000)
        second = ingest(external_id="second", code=rep_code.code, discount_amount=0)
        assert second.created
        assert second.commission is not None

    def test_programme_allowing_repeat_use_takes_a_second_discounted_order(self):
        rep = RepCodeFactory(
            advocate=AdvocateFactory(programme=ProgrammeFactory(shopper_one_use=False))
        )
        ingest(external_id="first", code=rep.code, discount_amount=2000)
        ingest(external_id="second", code=rep.code, discount_amount=2000)
        assert Order.objects.count() == 2
        assert not DiscountRedemption.objects.exists()

    def test_database_rejects_a_second_redemption_by_the_same_shopper(self, rep_code):
        first = ingest(external_id="first", code=rep_code.code, discount_amount=2000).order
        other = ingest(external_id="other", code=rep_code.code, shopper_email="b@example.com")
        with pytest.raises(IntegrityError), transaction.atomic():
            DiscountRedemption.objects.create(
                programme=first.programme,
                shopper_key=first.shopper_email_hash,
                order=other.order,
            )


class TestValidation:
    @pytest.mark.parametrize(
        ("overrides", "code"),
        [
            ({"gross_amount": 0}, "amount_invalid"),
            ({"gross_amount": -100}, "amount_invalid"),
            ({"gross_amount": True}, "amount_invalid"),
            ({"gross_amount": 100.0}, "amount_invalid"),
            ({"gross_amount": "100"}, "amount_invalid"),
            ({"discount_amount": -1}, "amount_invalid"),
            ({"discount_amount": 1.5}, "amount_invalid"),
            ({"discount_amount": 10001}, "amount_invalid"),
            ({"tax_amount": -1}, "amount_invalid"),
            ({"shipping_amount": False}, "amount_invalid"),
            ({"source": "paypal"}, "source_invalid"),
            ({"external_id": ""}, "external_id_invalid"),
            ({"external_id": "   "}, "external_id_invalid"),
            ({"external_id": "x" * 256}, "external_id_invalid"),
            ({"placed_at": datetime(2025, 3, 10, 12, 0)}, "placed_at_invalid"),  # noqa: DTZ001
            ({"currency": "eur"}, "currency_invalid"),
            ({"currency": "EURO"}, "currency_invalid"),
            ({"currency": ""}, "currency_invalid"),
            ({"currency": None}, "currency_invalid"),
        ],
    )
    def test_bad_input_is_a_service_error_and_nothing_is_stored(self, rep_code, overrides, code):
        with pytest.raises(ServiceError) as exc:
            ingest(code=rep_code.code, **overrides)
        assert exc.value.code == code
        assert nothing_stored()

    def test_currency_other_than_the_programmes_is_refused(self, rep_code):
        with pytest.raises(ServiceError) as exc:
            ingest(code=rep_code.code, currency="USD")
        assert exc.value.code == "currency_mismatch"
        assert nothing_stored()

    def test_discount_equal_to_the_whole_order_is_allowed(self, rep_code):
        result = ingest(code=rep_code.code, discount_amount=10000)
        assert result.order.net_amount == 0
        assert result.commission is None  # nothing to earn on a free order

    def test_unreferred_order_in_any_valid_currency_is_stored(self):
        assert ingest(currency="GBP").order.currency == "GBP"

    def test_default_placed_at_is_now(self, rep_code):
        before = timezone.now()
        order = order_ingest(
            source="api", external_id="now", currency="EUR", gross_amount=100
        ).order
        assert before <= order.placed_at <= timezone.now()


class TestRoundTrips:
    def test_a_new_credited_order_is_four_inserts_after_two_lookups(self, rep_code):
        """The existence check and the code lookup read; then the order (already credited to
        the advocate), the offer's redemption, the commission and its ledger entry are written
        in one transaction: no savepoint per row, no second write to the order."""
        store = store_built_in("api")  # as the API passes its key's store
        with CaptureQueriesContext(connection) as queries:
            result = ingest(code=rep_code.code, discount_amount=1_000, store=store)
        statements = [q["sql"].split()[0] for q in queries.captured_queries]
        assert statements.count("SELECT") == 2
        assert [s for s in statements if s in ("INSERT", "UPDATE")] == ["INSERT"] * 4
        # One savepoint at most: order_ingest's own transaction inside the test's.
        assert statements.count("SAVEPOINT") <= 1
        assert result.order.advocate_id == rep_code.advocate_id
        assert DiscountRedemption.objects.filter(order=result.order).exists()
        assert LedgerEntry.objects.get(commission=result.commission).amount == 900
