"""Issue #18: every audit entry reads as a sentence, with money in currency units and the
people by name ("Maria approved Anna's €30.08 commission for order #1042"), for every action
code the code base writes, and still as a sentence for a code it doesn't know."""

import pytest

from referrals import selectors
from referrals.audit_sentences import audit_sentence
from referrals.models import AuditEvent
from referrals.services.audit import audit
from tests.factories import (
    AdvocateFactory,
    ApiKeyFactory,
    CommissionFactory,
    OrderFactory,
    PayoutBatchFactory,
    PayoutFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def maria(db):
    return UserFactory(first_name="Maria")


@pytest.fixture
def anna(db):
    return AdvocateFactory(user__first_name="Anna")


@pytest.fixture
def commission(anna):
    return CommissionFactory(
        advocate=anna, order=OrderFactory(external_id="1042", gross_amount=30080), amount=3008
    )


@pytest.fixture
def batch(anna):
    return PayoutBatchFactory(programme=anna.programme, total_amount=30000, payout_count=4)


@pytest.fixture
def payout(anna, batch):
    return PayoutFactory(advocate=anna, batch=batch, amount=3008)


def sentence(event: AuditEvent) -> str:
    """The sentence as the admin pages write it: the subject loaded by the selector."""
    subjects = selectors.audit_event_subjects([event])
    return audit_sentence(event, subjects.get((event.object_type, event.object_id)))


# --- commissions -----------------------------------------------------------------------------


def test_a_manager_approving_a_commission(maria, commission):
    event = audit(actor=maria, action="commission_approved", obj=commission, after="approved")

    assert sentence(event) == "Maria approved Anna's €30.08 commission for order #1042."


def test_an_automatic_approval(commission):
    event = audit(actor=None, action="commission_auto_approved", obj=commission)

    assert sentence(event) == (
        "Streetteam approved Anna's €30.08 commission for order #1042 automatically: its hold "
        "ended and it is within the programme's auto-approve limit."
    )


def test_a_rejection(maria, commission):
    event = audit(actor=maria, action="commission_rejected", obj=commission, reason="Own order")

    assert sentence(event) == "Maria rejected Anna's €30.08 commission for order #1042."


def test_a_reversal_says_why_when_it_was_a_refund_or_a_dispute(commission):
    refund = audit(
        actor=None,
        action="commission_reversed",
        obj=commission,
        reason="Refund re_1 on order 1042",
    )
    dispute = audit(
        actor=None, action="commission_reversed", obj=commission, reason="Dispute dp_1 lost"
    )

    assert sentence(refund) == (
        "Anna's €30.08 commission for order #1042 was reversed after a refund."
    )
    assert sentence(dispute) == (
        "Anna's €30.08 commission for order #1042 was reversed after a lost dispute."
    )


def test_a_commission_paid_names_its_payout(commission, payout):
    commission.payout = payout
    commission.save(update_fields=["payout"])
    event = audit(actor=None, action="commission_paid", obj=commission)

    assert sentence(event) == (
        f"Anna's €30.08 commission for order #1042 was paid in payout #{payout.pk}."
    )


def test_a_dispute_freezes_and_unfreezes_a_commission(commission):
    frozen = audit(actor=None, action="commission_frozen", obj=commission)
    unfrozen = audit(actor=None, action="commission_unfrozen", obj=commission)

    assert sentence(frozen) == (
        "Anna's €30.08 commission for order #1042 was frozen: the order is disputed."
    )
    assert sentence(unfrozen) == (
        "Anna's €30.08 commission for order #1042 was unfrozen: the dispute was closed."
    )


def test_a_renewal_commission_in_yen(anna):
    jpy = CommissionFactory(
        advocate=anna,
        order=OrderFactory(external_id="sub-7", currency="JPY"),
        currency="JPY",
        amount=500,
        rule="recurring",
    )
    event = audit(actor=None, action="commission_auto_approved", obj=jpy)

    assert sentence(event).startswith(
        "Streetteam approved Anna's ¥500 commission for renewal order #sub-7 automatically"
    )


# --- orders ----------------------------------------------------------------------------------


def test_a_refund_recorded_on_an_order():
    order = OrderFactory(external_id="1042")
    event = audit(actor=None, action="refund_recorded", obj=order, amount=1200, refund="re_9")

    assert sentence(event) == "Streetteam recorded a refund of €12.00 on order #1042 (refund re_9)."


# --- payouts ---------------------------------------------------------------------------------


def test_a_manager_marking_a_payout_paid(maria, payout):
    event = audit(
        actor=maria, action="payout_paid", obj=payout, amount=3008, reference="SEPA-1", after="paid"
    )

    assert sentence(event) == (
        f"Maria marked payout #{payout.pk} (€30.08 to Anna) as paid. "
        "The payment reference is SEPA-1."
    )


def test_a_payout_sent_paid_and_failed_by_the_system(payout):
    sent = audit(actor=None, action="payout_processing", obj=payout)
    paid = audit(actor=None, action="payout_paid", obj=payout, reference="")
    failed = audit(actor=None, action="payout_failed", obj=payout)

    assert sentence(sent) == f"Payout #{payout.pk} (€30.08 to Anna) was sent for payment."
    assert sentence(paid) == f"Payout #{payout.pk} (€30.08 to Anna) was paid."
    assert sentence(failed) == (
        f"Payout #{payout.pk} (€30.08 to Anna) failed. The money is back in the advocate's balance."
    )


def test_payouts_cancelled_retried_held_refused_and_recovered(maria, payout, anna, batch):
    retry = PayoutFactory(advocate=anna, batch=batch, amount=3008, retry_of=payout)
    events = [
        audit(actor=maria, action="payout_cancelled", obj=payout),
        audit(actor=maria, action="payout_retried", obj=retry, retry_of=payout.pk),
        audit(actor=None, action="payout_held", obj=payout),
        audit(actor=None, action="payout_refused", obj=payout, advocate_status="banned"),
        audit(actor=None, action="payout_recovered", obj=payout, outcome="paid"),
        audit(actor=maria, action="payout_destination_confirmed", obj=payout, after="PayPal"),
    ]

    assert [sentence(event) for event in events] == [
        f"Maria cancelled payout #{payout.pk} (€30.08 to Anna) with its batch.",
        f"Maria retried failed payout #{payout.pk} as payout #{retry.pk} (€30.08 to Anna).",
        f"Payout #{payout.pk} (€30.08 to Anna) was held: the advocate's payout details "
        "changed after approval.",
        f"Payout #{payout.pk} (€30.08 to Anna) was not sent: the advocate is banned.",
        f"Streetteam checked payout #{payout.pk} (€30.08 to Anna) after an interruption and "
        "found it had been paid and recorded it.",
        f"Maria confirmed the new payout details for payout #{payout.pk} (€30.08 to Anna): PayPal.",
    ]


# --- payout batches --------------------------------------------------------------------------


def test_a_batch_from_building_to_done(maria, batch):
    events = [
        audit(actor=maria, action="batch_built", obj=batch, total=30000, payouts=4),
        audit(actor=maria, action="batch_approved", obj=batch, total=30000),
        audit(actor=maria, action="batch_second_approval", obj=batch, total=30000, after="x"),
        audit(actor=maria, action="batch_exported", obj=batch, payouts=4),
        audit(actor=maria, action="batch_executed", obj=batch, after="executing"),
        audit(actor=None, action="batch_done", obj=batch, after="done"),
    ]

    assert [sentence(event) for event in events] == [
        f"Maria built payout batch #{batch.pk} (€300.00) with 4 payouts.",
        f"Maria gave the first of two approvals to payout batch #{batch.pk} (€300.00); "
        "a second manager must approve it too.",
        f"Maria gave the second approval to payout batch #{batch.pk} (€300.00).",
        f"Maria downloaded the bank transfer file of payout batch #{batch.pk} (€300.00) "
        "(4 payouts).",
        f"Maria started paying payout batch #{batch.pk} (€300.00).",
        f"Payout batch #{batch.pk} (€300.00) is done: every payout in it is settled.",
    ]


def test_a_single_approval_reopening_and_cancelling_a_batch(maria, batch):
    approved = audit(
        actor=maria, action="batch_approved", obj=batch, before="draft", after="approved"
    )
    reopened = audit(actor=maria, action="batch_reopened", obj=batch, after="executing")
    cancelled = audit(actor=maria, action="batch_cancelled", obj=batch, after="cancelled")

    assert sentence(approved) == f"Maria approved payout batch #{batch.pk} (€300.00)."
    assert sentence(reopened) == (
        f"Maria reopened payout batch #{batch.pk} (€300.00) to retry a failed payout."
    )
    assert sentence(cancelled) == f"Maria cancelled payout batch #{batch.pk} (€300.00)."


# --- stores, API keys and Stripe -------------------------------------------------------------


def test_store_and_api_key_changes(maria):
    store = StoreFactory(name="Corner shop")
    key = ApiKeyFactory(store=store, prefix="k1234567")
    events = [
        audit(actor=maria, action="store_updated", obj=store, before={}, after={}),
        audit(
            actor=maria,
            action="api_key_created",
            obj=key,
            prefix="k1234567",
            store="Corner shop",
            programmes=[],
        ),
        audit(actor=maria, action="api_key_programmes_set", obj=key, programmes=["Friends"]),
        audit(actor=maria, action="api_key_revoked", obj=key, prefix="k1234567"),
    ]

    assert [sentence(event) for event in events] == [
        "Maria changed the store “Corner shop”.",
        "Maria created the API key k1234567 for the store “Corner shop”, acting for every "
        "programme.",
        "Maria let the API key k1234567 act for Friends.",
        "Maria revoked the API key k1234567.",
    ]


def test_stripe_replays_and_reconciliations(maria):
    replayed = AuditEvent.objects.create(
        actor=maria,
        action="stripe_event_replayed",
        object_type="webhookevent",
        object_id=7,
        data={"stripe_id": "evt_1", "type": "charge.refunded", "after": "processed"},
    )
    reconciled = AuditEvent.objects.create(
        action="stripe_reconciled", object_type="stripe", object_id=0, reason="3 to look at"
    )

    assert sentence(replayed) == (
        "Maria replayed the Stripe event evt_1 (charge.refunded); it is now processed."
    )
    assert sentence(reconciled) == (
        "Streetteam compared its orders with Stripe's payments: 3 to look at."
    )


# --- what nobody taught it -------------------------------------------------------------------


def test_an_unknown_action_is_still_a_sentence(maria):
    event = AuditEvent.objects.create(
        actor=maria, action="commission_teleported", object_type="commission", object_id=5
    )

    assert sentence(event) == "Maria recorded “commission teleported” on commission #5."


def test_data_in_an_unexpected_shape_falls_back_to_a_sentence(maria, payout):
    event = audit(actor=maria, action="batch_built", obj=payout.batch, total="lots", payouts=1)

    assert sentence(event) == f"Maria recorded “batch built” on payout batch #{payout.batch.pk}."


def _actions_written_in_the_source() -> set[str]:
    """Every literal `action="..."` passed to an audit call in the code, read from the source
    itself, so an action added later without a sentence fails here."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = set()
    for path in [*root.glob("referrals/**/*.py"), *root.glob("advocacy/**/*.py")]:
        if "migrations" in path.parts:
            continue
        found |= set(re.findall(r'action="([a-z]+_[a-z_]+)"', path.read_text()))
    return found - {"store_true", "store_false", "store_const", "append_const"}  # argparse


def test_every_action_the_code_writes_has_its_own_sentence():
    """Literal actions from the source, and the ones built from a status or kind."""
    from advocacy.models import Advocate
    from referrals.audit_sentences import SENTENCES
    from referrals.models import Adjustment, Commission, FraudSignal, Payout, PayoutBatch
    from referrals.receivers import ADVOCATE_STATUS_ACTIONS
    from referrals.stripe.reconcile import AUDIT_ACTION

    literal = _actions_written_in_the_source()
    assert {"commission_frozen", "payout_held", "batch_exported"} <= literal  # the scan works
    # A batch is put to "executing" only as `batch_executed` (payout_batch_execute).
    built = {
        *(f"commission_{s}" for s in Commission.Status.values if s != "pending"),
        *(f"payout_{s}" for s in Payout.Status.values if s != "pending"),
        *(f"batch_{s}" for s in PayoutBatch.Status.values if s not in ("draft", "executing")),
        *(f"fraud_signal_{r}" for r in FraudSignal.Resolution.values),
        *(f"adjustment_{k}" for k in Adjustment.Kind.values),
        *ADVOCATE_STATUS_ACTIONS.values(),
        AUDIT_ACTION,
    }
    written = literal | built

    assert Advocate.Status.PAUSED in ADVOCATE_STATUS_ACTIONS
    assert sorted(written - set(SENTENCES)) == []


# --- advocates, fraud signals, adjustments (actions the manager's console added) -------------


def test_pausing_an_advocate(maria, anna):
    event = audit(actor=maria, action="advocate_paused", obj=anna, before="active", after="paused")

    assert sentence(event) == "Maria paused Anna: new sales earn nothing for now."


def test_granting_a_flagged_orders_commission(maria, anna):
    from referrals.models import FraudSignal

    signal = FraudSignal.objects.create(
        kind=FraudSignal.Kind.FAST_ORDER, order=OrderFactory(external_id="1043"), advocate=anna
    )
    event = audit(
        actor=maria, action="fraud_signal_credited", obj=signal, amount=1250, currency="EUR"
    )

    assert sentence(event) == (
        "Maria resolved the “Ordered seconds after the click” signal on order #1043 by granting "
        "its commission of €12.50."
    )


def test_a_negative_correction_and_a_bonus(maria, anna):
    from referrals.models import Adjustment

    correction = Adjustment.objects.create(
        advocate=anna,
        kind="correction",
        currency="EUR",
        amount=-500,
        reason="Double credit",
        created_by=maria,
        token="00000000-0000-0000-0000-000000000001",
    )
    bonus = Adjustment.objects.create(
        advocate=anna,
        kind="bonus",
        currency="JPY",
        amount=1500,
        reason="Top of the month",
        created_by=maria,
        token="00000000-0000-0000-0000-000000000002",
    )
    took = audit(
        actor=maria, action="adjustment_correction", obj=correction, amount=-500, currency="EUR"
    )
    gave = audit(actor=maria, action="adjustment_bonus", obj=bonus, amount=1500, currency="JPY")

    assert sentence(took) == "Maria recorded a correction of −€5.00 for Anna."
    assert sentence(gave) == "Maria gave Anna a bonus of ¥1,500."


def test_a_batch_the_schedule_built(batch):
    event = audit(
        actor=None,
        action="batch_built",
        obj=batch,
        total=30000,
        payouts=4,
        scheduled_for="2026-12-07",
    )

    assert sentence(event) == (
        f"The payout schedule built payout batch #{batch.pk} (€300.00) with 4 payouts."
    )
