"""Migration 0014 gives existing orders and API keys their stores: sandbox and Stripe orders the
built-in ones, every API key and API order one shared default API store (the API never recorded
which key sent an order), so every existing order id keeps answering as before."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("referrals", "0013_payout_processing_at")]


def migrate(targets=None):
    """Migrate to `targets` (default: the latest, as the rest of the suite expects)."""
    executor = MigrationExecutor(connection)
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_orders_and_keys_are_given_stores():
    old = migrate(BEFORE)
    Order, ApiKey = old.get_model("referrals", "Order"), old.get_model("referrals", "ApiKey")
    fields = {"currency": "EUR", "gross_amount": 100, "net_amount": 100}
    for source in ("api", "sandbox", "stripe"):
        Order.objects.create(source=source, external_id="1001", placed_at=timezone.now(), **fields)
    ApiKey.objects.create(name="Old till", prefix="oldtill1", secret_hash="0" * 64)
    ApiKey.objects.create(name="Old web", prefix="oldweb01", secret_hash="0" * 64)

    new = migrate()
    Order, ApiKey = new.get_model("referrals", "Order"), new.get_model("referrals", "ApiKey")
    stores = {o.source: (o.store.slug, o.store.kind) for o in Order.objects.select_related("store")}
    assert stores == {
        "api": ("api-default", "api"),
        "sandbox": ("sandbox", "sandbox"),
        "stripe": ("stripe", "stripe"),
    }
    assert set(ApiKey.objects.values_list("store__slug", flat=True)) == {"api-default"}
