"""Every foreign key of the money tables can be looked up by an index, but one.

Some foreign keys have no index of their own (a composite index leads with the column, and each
index is one more write when a payout build links 100k commissions); this keeps a later change
from dropping the composite and leaving deletes and lookups to scan the table.

The one exception is Commission.payout: no index at all, so that a batch build's links are
in-place updates (migration 0008, tests/pg/test_payouts.py). A payout's commissions are read
by advocate and payout, through commission_advocate_status, and payouts are never deleted.
"""

import pytest
from django.db import connection

from referrals.models import Commission, LedgerEntry, Order, Payout

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", [Order, Commission, LedgerEntry, Payout])
def test_every_foreign_key_leads_an_index(model):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    leading = {
        found["columns"][0]
        for found in constraints.values()
        if (found["index"] or found["unique"]) and found["columns"]
    }
    foreign_keys = {field.column for field in model._meta.concrete_fields if field.many_to_one}
    assert foreign_keys - leading == UNINDEXED.get(model, set())


UNINDEXED = {Commission: {"payout_id"}}
