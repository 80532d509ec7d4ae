"""Issue #16, mutation testing of `ledger_selectors.payable_balance`: one advocate's money in one
currency, and 0 (not None) for an advocate with no entry at all."""

import pytest

from referrals import ledger_selectors
from referrals.services import ledger
from tests.factories import AdvocateFactory

pytestmark = pytest.mark.django_db


def test_an_advocate_without_entries_has_zero_payable(advocate):
    assert ledger_selectors.payable_balance(advocate, "EUR") == 0


def test_payable_balance_is_one_advocate_in_one_currency(advocate):
    stranger = AdvocateFactory(programme=advocate.programme)
    entries = [
        (advocate, "EUR", 700, "adjustment:1"),
        (advocate, "USD", 9_000, "adjustment:2"),
        (stranger, "EUR", 4_000, "adjustment:3"),
    ]
    for who, currency, amount, reference in entries:
        ledger.ledger_write(
            advocate_id=who.pk,
            currency=currency,
            kind="adjustment",
            amount=amount,
            reference=reference,
        )

    assert ledger_selectors.payable_balance(advocate, "EUR") == 700
    assert ledger_selectors.payable_balance(advocate, "USD") == 9_000
