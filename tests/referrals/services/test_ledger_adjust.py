"""A manager's bonus or correction (services.ledger.ledger_adjust): one `adjustment` entry in
the programme's currency, referenced by its Adjustment row, audited, once per form token."""

import uuid

import pytest

from kernel.errors import ServiceError
from referrals.ledger_selectors import balance, payable_balance
from referrals.models import Adjustment, AuditEvent, LedgerEntry
from referrals.services.ledger import ledger_adjust
from tests.factories import AdvocateFactory, ProgrammeFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def advocate(db):
    return AdvocateFactory(programme=ProgrammeFactory(currency="GBP"))


def adjust(
    advocate, manager, *, kind="bonus", amount=2500, reason="Top referrer in May", token=None
):
    return ledger_adjust(
        advocate_id=advocate.pk,
        kind=kind,
        amount=amount,
        reason=reason,
        actor=manager,
        token=token or uuid.uuid4(),
    )


def test_a_bonus_is_one_adjustment_entry_in_the_programmes_currency(advocate, manager):
    token = uuid.uuid4()

    adjustment = adjust(advocate, manager, token=token, reason="  Top referrer in May ")

    assert (adjustment.kind, adjustment.amount, adjustment.currency) == ("bonus", 2500, "GBP")
    assert (adjustment.created_by, adjustment.reason, adjustment.token) == (
        manager,
        "Top referrer in May",
        token,
    )
    entry = LedgerEntry.objects.get()
    assert (entry.advocate, entry.kind, entry.amount, entry.currency) == (
        advocate,
        "adjustment",
        2500,
        "GBP",
    )
    assert (entry.reference, entry.memo, entry.commission) == (
        f"adjustment:{adjustment.pk}",
        "Top referrer in May",
        None,
    )
    assert payable_balance(advocate, "GBP") == 2500
    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.object_type, event.object_id, event.reason) == (
        manager,
        "adjustment_bonus",
        "adjustment",
        adjustment.pk,
        "Top referrer in May",
    )
    assert event.data == {"advocate": advocate.pk, "amount": 2500, "currency": "GBP"}


def test_the_same_form_token_twice_writes_once(advocate, manager):
    token = uuid.uuid4()

    first = adjust(advocate, manager, token=token)
    second = adjust(advocate, manager, token=token)

    assert first.pk == second.pk
    assert (
        Adjustment.objects.count() == LedgerEntry.objects.count() == AuditEvent.objects.count() == 1
    )
    assert balance(advocate, "GBP") == 2500


def test_a_negative_correction_within_the_balance_is_a_debit(advocate, manager):
    adjust(advocate, manager, amount=2500)

    correction = adjust(advocate, manager, kind="correction", amount=-2500, reason="Paid twice")

    entry = LedgerEntry.objects.get(reference=f"adjustment:{correction.pk}")
    assert (entry.kind, entry.amount, entry.currency) == ("adjustment", -2500, "GBP")
    assert balance(advocate, "GBP") == 0
    assert AuditEvent.objects.filter(action="adjustment_correction").get().data["amount"] == -2500


def test_a_positive_correction_is_a_credit(advocate, manager):
    adjust(advocate, manager, kind="correction", amount=700, reason="Missed order 12")

    assert balance(advocate, "GBP") == 700


def test_a_correction_below_zero_is_refused_and_writes_nothing(advocate, manager):
    adjust(advocate, manager, amount=1000)

    with pytest.raises(ServiceError) as refused:
        adjust(advocate, manager, kind="correction", amount=-1001, reason="Too much")

    assert (refused.value.code, refused.value.field) == ("balance_too_low", "amount")
    assert "£10.00 is payable now" in refused.value.message
    assert Adjustment.objects.count() == LedgerEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "amount", "reason", "code", "field"),
    [
        ("bonus", 1000, " ", "reason_required", "reason"),
        ("bonus", -1000, "Oops", "amount_invalid", "amount"),
        ("bonus", 0, "Oops", "amount_invalid", "amount"),
        ("correction", 0, "Oops", "amount_invalid", "amount"),
        ("correction", 10**15 + 1, "Oops", "amount_invalid", "amount"),
        ("gift", 1000, "Oops", "kind_invalid", "kind"),
    ],
)
def test_bad_adjustments_are_refused_with_a_field_and_write_nothing(
    advocate, manager, kind, amount, reason, code, field
):
    with pytest.raises(ServiceError) as refused:
        adjust(advocate, manager, kind=kind, amount=amount, reason=reason)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert not Adjustment.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert not AuditEvent.objects.exists()
