from decimal import Decimal

import pytest

from advocacy.models import Advocate, Programme, RewardKind
from advocacy.offers import offer_summary
from kernel.errors import ServiceError
from referrals.services.discounts import discount_quote
from referrals.services.orders import order_ingest
from tests.factories import AdvocateFactory, ProgrammeFactory, RepCodeFactory

pytestmark = pytest.mark.django_db


def code_in(**programme_fields):
    programme = ProgrammeFactory(**programme_fields)
    return RepCodeFactory(advocate=AdvocateFactory(programme=programme))


def quote(rep, gross=10000, currency="EUR", email="shopper@example.com", code=None):
    return discount_quote(
        code=rep.code if code is None else code,
        gross_amount=gross,
        currency=currency,
        shopper_email=email,
    )


def refused(rep, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as exc:
        quote(rep, **kwargs)
    return exc.value


def test_percent_discount_on_the_gross_amount(rep_code):
    q = quote(rep_code, gross=12900)
    assert q.discount_amount == 2580
    assert q.net_amount == 10320
    assert q.rep_code == rep_code
    assert q.programme == rep_code.advocate.programme
    assert q.advocate_first_name == rep_code.advocate.user.first_name


def test_percent_discount_rounds_half_up():
    rep = code_in(shopper_reward_percent=Decimal("10"))
    assert quote(rep, gross=1005).discount_amount == 101


def test_fixed_discount():
    rep = code_in(shopper_reward_kind=RewardKind.FIXED, shopper_reward_amount=1000)
    q = quote(rep, gross=5000)
    assert q.discount_amount == 1000
    assert q.net_amount == 4000


def test_fixed_discount_is_capped_at_the_order():
    rep = code_in(shopper_reward_kind=RewardKind.FIXED, shopper_reward_amount=1000)
    q = quote(rep, gross=600)
    assert q.discount_amount == 600
    assert q.net_amount == 0


def test_code_matches_whatever_the_letter_case(rep_code):
    assert quote(rep_code, code=f" {rep_code.code.lower()} ").rep_code == rep_code


def test_order_exactly_at_the_minimum_gets_the_offer():
    rep = code_in(shopper_min_order=5000)
    assert quote(rep, gross=5000).discount_amount == 1000


def test_order_one_cent_under_the_minimum_is_refused():
    rep = code_in(shopper_min_order=5000)
    error = refused(rep, gross=4999)
    assert error.code == "below_minimum"
    assert error.field == "code"
    assert "€50.00" in error.message


def test_first_order_only_refuses_a_returning_shopper():
    rep = code_in(shopper_first_order_only=True, shopper_one_use=False)
    assert quote(rep).discount_amount == 2000
    order_ingest(
        source="api",
        external_id="earlier",
        currency="EUR",
        gross_amount=3000,
        code=rep.code,
        shopper_email="shopper@example.com",
    )
    assert refused(rep, email="Shopper+again@example.com").code == "not_first_order"
    assert quote(rep, email="someone.else@example.com").discount_amount == 2000


def test_one_use_refuses_a_shopper_who_has_had_the_discount():
    rep = code_in(shopper_one_use=True)
    order_ingest(
        source="api",
        external_id="used",
        currency="EUR",
        gross_amount=10000,
        discount_amount=2000,
        code=rep.code,
        shopper_email="shopper@example.com",
    )
    assert refused(rep).code == "offer_already_used"
    assert quote(rep, email="friend@example.com").discount_amount == 2000


def test_one_use_counts_per_programme():
    first = code_in(shopper_one_use=True)
    second = code_in(shopper_one_use=True)
    order_ingest(
        source="api",
        external_id="used",
        currency="EUR",
        gross_amount=10000,
        discount_amount=2000,
        code=first.code,
        shopper_email="shopper@example.com",
    )
    assert quote(second).discount_amount == 2000


@pytest.mark.parametrize(
    "status", [Programme.Status.PAUSED, Programme.Status.ENDED, Programme.Status.DRAFT]
)
def test_inactive_programme_gives_no_discount(status):
    rep = code_in(status=status)
    error = refused(rep)
    assert error.code == "programme_inactive"
    assert error.field == "code"


@pytest.mark.parametrize("status", [Advocate.Status.PAUSED, Advocate.Status.BANNED])
def test_inactive_advocate_gives_no_discount(rep_code, status):
    Advocate.objects.filter(pk=rep_code.advocate_id).update(status=status)
    assert refused(rep_code).code == "advocate_inactive"


def test_deactivated_code_gives_no_discount(rep_code):
    rep_code.is_active = False
    rep_code.save()
    assert refused(rep_code).code == "code_inactive"


def test_unknown_code_gives_no_discount(rep_code):
    error = refused(rep_code, code="NOSUCHCODE")
    assert error.code == "code_unknown"
    assert error.field == "code"


def test_currency_mismatch_gives_no_discount(rep_code):
    error = refused(rep_code, currency="USD")
    assert error.code == "currency_mismatch"
    assert "EUR" in error.message


@pytest.mark.parametrize("gross", [0, -100, 10.5, True, "100", 10**15 + 1])
def test_amount_must_be_a_positive_whole_number(rep_code, gross):
    assert refused(rep_code, gross=gross).code == "amount_invalid"


@pytest.mark.parametrize(("gross", "discount"), [(1, 0), (10**15, 2 * 10**14)])
def test_the_smallest_and_the_largest_accepted_amounts_are_quoted(rep_code, gross, discount):
    """One minor unit (20 % of 1 cent rounds to nothing) and the ceiling, 10^15, itself."""
    q = quote(rep_code, gross=gross)
    assert (q.discount_amount, q.currency) == (discount, "EUR")


def test_first_order_only_counts_orders_of_the_same_programme():
    rep = code_in(shopper_first_order_only=True, shopper_one_use=False)
    elsewhere = code_in(shopper_first_order_only=True, shopper_one_use=False)
    order_ingest(
        source="api",
        external_id="elsewhere",
        currency="EUR",
        gross_amount=3000,
        code=elsewhere.code,
        shopper_email="shopper@example.com",
    )
    assert quote(rep).discount_amount == 2000


def test_a_refusal_about_the_shopper_names_the_code_field():
    """The checkout shows these messages beside the code the shopper typed."""
    rep = code_in(shopper_first_order_only=True, shopper_one_use=True)
    order_ingest(
        source="api",
        external_id="first",
        currency="EUR",
        gross_amount=10000,
        discount_amount=2000,
        code=rep.code,
        shopper_email="shopper@example.com",
    )
    first_only = refused(rep)
    assert (first_only.code, first_only.field) == ("not_first_order", "code")
    rep.advocate.programme.shopper_first_order_only = False
    rep.advocate.programme.save()
    used = refused(rep)
    assert (used.code, used.field) == ("offer_already_used", "code")
    assert refused(rep, currency="USD").field == "code"


def test_anonymous_quote_skips_per_shopper_checks():
    rep = code_in(shopper_first_order_only=True, shopper_one_use=True)
    assert quote(rep, email="").discount_amount == 2000


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"shopper_reward_percent": Decimal("20")}, "20% off"),
        ({"shopper_reward_percent": Decimal("12.50")}, "12.5% off"),
        (
            {"shopper_reward_kind": RewardKind.FIXED, "shopper_reward_amount": 1000},
            "€10.00 off",
        ),
        (
            {"shopper_reward_percent": Decimal("15"), "shopper_min_order": 5000},
            "15% off orders over €50.00",
        ),
    ],
)
def test_offer_summary_in_words(fields, expected):
    assert offer_summary(ProgrammeFactory.build(**fields)) == expected
