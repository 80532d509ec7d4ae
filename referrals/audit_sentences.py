"""Audit entries as sentences a manager reads: "Maria approved Anna's €30.08 commission for
order #1042", "Streetteam marked payout #12 (€30.08 to Anna) as paid".

`audit_sentence(event, subject)` writes one entry; `subject` is the object the entry is about
(a commission, a payout, a batch...), loaded for a whole page at once by
`selectors.audit_event_subjects`. Every action code the code base writes has its sentence; an
unknown one still reads as a sentence. The entry's reason is not repeated here: it is shown
beside the sentence as the manager (or the code) wrote it.
"""

from collections.abc import Callable, Iterable

from kernel.money import format_money

SYSTEM = "Streetteam"


def _who(event) -> str:
    if event.actor_id and event.actor:
        return event.actor.display_name
    # A batch the programme's payout schedule built (payouts/services/schedule.py).
    return "The payout schedule" if event.data.get("scheduled_for") else SYSTEM


def _name(advocate) -> str:
    return advocate.user.display_name


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") and not name.endswith("ss") else f"{name}'s"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _commission(event, commission) -> str:
    """ "Anna's €30.08 commission for order #1042" """
    if commission is None:
        return f"commission #{event.object_id}"
    amount = format_money(commission.amount, commission.currency)
    renewal = " renewal" if commission.rule == "recurring" else ""
    return (
        f"{_possessive(_name(commission.advocate))} {amount} commission for"
        f"{renewal} order #{commission.order.external_id}"
    )


def _payout(event, payout) -> str:
    """ "payout #12 (€30.08 to Anna)" """
    if payout is None:
        return f"payout #{event.object_id}"
    amount = format_money(payout.amount, payout.currency)
    return f"payout #{payout.pk} ({amount} to {_name(payout.advocate)})"


def _batch(event, batch) -> str:
    """ "payout batch #3 (€300.00)" """
    if batch is None:
        return f"payout batch #{event.object_id}"
    total = event.data.get("total", batch.total_amount)
    return f"payout batch #{batch.pk} ({format_money(total, batch.currency)})"


def _order(event, order) -> str:
    return f"order #{order.external_id}" if order is not None else f"order {event.object_id}"


# --- commissions -----------------------------------------------------------------------------


def _commission_approved(event, c):
    return f"{_who(event)} approved {_commission(event, c)}."


def _commission_auto_approved(event, c):
    return (
        f"{SYSTEM} approved {_commission(event, c)} automatically: its hold ended and it is "
        "within the programme's auto-approve limit."
    )


def _commission_rejected(event, c):
    return f"{_who(event)} rejected {_commission(event, c)}."


def _commission_reversed(event, c):
    reason = event.reason.lower()
    if reason.startswith("refund"):
        why = " after a refund"
    elif reason.startswith("dispute"):
        why = " after a lost dispute"
    else:
        why = ""
    if event.actor_id:
        return f"{_who(event)} reversed {_commission(event, c)}{why}."
    return f"{_capital(_commission(event, c))} was reversed{why}."


def _commission_paid(event, c):
    paid_in = f" in payout #{c.payout_id}" if c is not None and c.payout_id else ""
    return f"{_capital(_commission(event, c))} was paid{paid_in}."


def _commission_frozen(event, c):
    if event.actor_id:
        return f"{_who(event)} froze {_commission(event, c)} while a dispute is open."
    return f"{_capital(_commission(event, c))} was frozen: the order is disputed."


def _commission_unfrozen(event, c):
    return f"{_capital(_commission(event, c))} was unfrozen: the dispute was closed."


# --- orders ----------------------------------------------------------------------------------


def _refund_recorded(event, order):
    amount = event.data.get("amount")
    money = (
        f"a refund of {format_money(amount, order.currency)}"
        if order is not None and isinstance(amount, int)
        else "a refund"
    )
    refund = event.data.get("refund")
    refund = f" (refund {refund})" if refund else ""
    return f"{_who(event)} recorded {money} on {_order(event, order)}{refund}."


# --- payouts ---------------------------------------------------------------------------------


def _payout_processing(event, p):
    return f"{_capital(_payout(event, p))} was sent for payment."


def _payout_paid(event, p):
    reference = event.data.get("reference")
    reference = f" The payment reference is {reference}." if reference else ""
    if event.actor_id:
        return f"{_who(event)} marked {_payout(event, p)} as paid.{reference}"
    return f"{_capital(_payout(event, p))} was paid.{reference}"


def _payout_failed(event, p):
    back = " The money is back in the advocate's balance."
    if event.actor_id:
        return f"{_who(event)} marked {_payout(event, p)} as failed.{back}"
    return f"{_capital(_payout(event, p))} failed.{back}"


def _payout_cancelled(event, p):
    if event.actor_id:
        return f"{_who(event)} cancelled {_payout(event, p)} with its batch."
    return f"{_capital(_payout(event, p))} was cancelled with its batch."


def _payout_retried(event, p):
    failed = event.data.get("retry_of")
    failed = f"failed payout #{failed}" if failed else "a failed payout"
    return f"{_who(event)} retried {failed} as {_payout(event, p)}."


def _payout_destination_confirmed(event, p):
    after = event.data.get("after")
    where = f": {after}" if after else ""
    return f"{_who(event)} confirmed the new payout details for {_payout(event, p)}{where}."


def _payout_held(event, p):
    return (
        f"{_capital(_payout(event, p))} was held: the advocate's payout details changed "
        "after approval."
    )


def _payout_refused(event, p):
    status = event.data.get("advocate_status")
    status = f" is {status}" if status else " may not be paid"
    return f"{_capital(_payout(event, p))} was not sent: the advocate{status}."


_RECOVERY = {
    "paid": "found it had been paid and recorded it",
    "retried": "sent it again, and it was paid",
    "refused": "found the advocate may no longer be paid and marked it as failed",
    "failed": "sent it again, and it failed",
}


def _payout_recovered(event, p):
    outcome = event.data.get("outcome", "")
    what = _RECOVERY.get(outcome, f"checked it again ({outcome or 'no outcome'})")
    return f"{SYSTEM} checked {_payout(event, p)} after an interruption and {what}."


# --- payout batches --------------------------------------------------------------------------


def _batch_built(event, b):
    count = event.data.get("payouts")
    count = f" with {count} payout{'' if count == 1 else 's'}" if count is not None else ""
    return f"{_who(event)} built {_batch(event, b)}{count}."


def _batch_approved(event, b):
    if "after" not in event.data:
        # The first of two approvals: the batch stays a draft until a second manager approves.
        return (
            f"{_who(event)} gave the first of two approvals to {_batch(event, b)}; "
            "a second manager must approve it too."
        )
    return f"{_who(event)} approved {_batch(event, b)}."


def _batch_second_approval(event, b):
    return f"{_who(event)} gave the second approval to {_batch(event, b)}."


def _batch_executed(event, b):
    return f"{_who(event)} started paying {_batch(event, b)}."


def _batch_reopened(event, b):
    return f"{_who(event)} reopened {_batch(event, b)} to retry a failed payout."


def _batch_done(event, b):
    return f"{_capital(_batch(event, b))} is done: every payout in it is settled."


def _batch_cancelled(event, b):
    return f"{_who(event)} cancelled {_batch(event, b)}."


def _batch_exported(event, b):
    count = event.data.get("payouts")
    count = f" ({count} payout{'' if count == 1 else 's'})" if count is not None else ""
    return f"{_who(event)} downloaded the bank transfer file of {_batch(event, b)}{count}."


# --- stores, API keys, Stripe ----------------------------------------------------------------


def _store_updated(event, store):
    name = store.name if store is not None else (event.data.get("after") or {}).get("name")
    return f"{_who(event)} changed the store “{name or event.object_id}”."


def _key(event, key) -> str:
    prefix = event.data.get("prefix") or (key.prefix if key is not None else event.object_id)
    return f"the API key {prefix}"


def _programme_list(names) -> str:
    return ", ".join(names) if names else "every programme"


def _api_key_created(event, key):
    store = event.data.get("store") or (key.store.name if key is not None else "")
    store = f" for the store “{store}”" if store else ""
    programmes = _programme_list(event.data.get("programmes"))
    return f"{_who(event)} created {_key(event, key)}{store}, acting for {programmes}."


def _api_key_revoked(event, key):
    return f"{_who(event)} revoked {_key(event, key)}."


def _api_key_programmes_set(event, key):
    programmes = _programme_list(event.data.get("programmes"))
    return f"{_who(event)} let {_key(event, key)} act for {programmes}."


def _stripe_event_replayed(event, stripe_event):
    stripe_id = event.data.get("stripe_id") or getattr(stripe_event, "stripe_id", "")
    kind = event.data.get("type")
    kind = f" ({kind})" if kind else ""
    after = event.data.get("after")
    after = f"; it is now {after}" if after else ""
    return f"{_who(event)} replayed the Stripe event {stripe_id}{kind}{after}."


def _stripe_reconciled(event, _):
    outcome = event.reason[:1].lower() + event.reason[1:] if event.reason else "done"
    return f"{SYSTEM} compared its orders with Stripe's payments: {outcome}."


# --- advocates, fraud signals, adjustments ---------------------------------------------------


def _advocate(event, advocate) -> str:
    return _name(advocate) if advocate is not None else f"advocate #{event.object_id}"


def _advocate_paused(event, advocate):
    return f"{_who(event)} paused {_advocate(event, advocate)}: new sales earn nothing for now."


def _advocate_banned(event, advocate):
    return f"{_who(event)} banned {_advocate(event, advocate)} from the programme."


def _advocate_reactivated(event, advocate):
    return f"{_who(event)} made {_advocate(event, advocate)} active again."


def _signal(event, signal) -> str:
    """ "the “Ordered seconds after the click” signal on order #1042" """
    if signal is None:
        return f"fraud signal #{event.object_id}"
    on = f" on order #{signal.order.external_id}" if signal.order_id else ""
    return f"the “{signal.get_kind_display()}” signal{on}"


def _fraud_signal_dismissed(event, signal):
    return f"{_who(event)} dismissed {_signal(event, signal)}; the order earns nothing."


def _fraud_signal_credited(event, signal):
    amount = event.data.get("amount")
    currency = event.data.get("currency")
    money = f" of {format_money(amount, currency)}" if isinstance(amount, int) and currency else ""
    return f"{_who(event)} resolved {_signal(event, signal)} by granting its commission{money}."


def _adjustment(event, adjustment, word: str) -> str:
    amount = event.data.get("amount", getattr(adjustment, "amount", None))
    currency = event.data.get("currency", getattr(adjustment, "currency", None))
    whom = _name(adjustment.advocate) if adjustment is not None else "an advocate"
    if not isinstance(amount, int) or not currency:
        return f"{_who(event)} recorded a {word} for {whom}."
    if amount < 0:
        return f"{_who(event)} recorded a {word} of −{format_money(-amount, currency)} for {whom}."
    return f"{_who(event)} gave {whom} a {word} of {format_money(amount, currency)}."


def _adjustment_bonus(event, adjustment):
    return _adjustment(event, adjustment, "bonus")


def _adjustment_correction(event, adjustment):
    return _adjustment(event, adjustment, "correction")


SENTENCES: dict[str, Callable] = {
    "advocate_paused": _advocate_paused,
    "advocate_banned": _advocate_banned,
    "advocate_reactivated": _advocate_reactivated,
    "fraud_signal_dismissed": _fraud_signal_dismissed,
    "fraud_signal_credited": _fraud_signal_credited,
    "adjustment_bonus": _adjustment_bonus,
    "adjustment_correction": _adjustment_correction,
    "commission_approved": _commission_approved,
    "commission_auto_approved": _commission_auto_approved,
    "commission_rejected": _commission_rejected,
    "commission_reversed": _commission_reversed,
    "commission_paid": _commission_paid,
    "commission_frozen": _commission_frozen,
    "commission_unfrozen": _commission_unfrozen,
    "refund_recorded": _refund_recorded,
    "payout_processing": _payout_processing,
    "payout_paid": _payout_paid,
    "payout_failed": _payout_failed,
    "payout_cancelled": _payout_cancelled,
    "payout_retried": _payout_retried,
    "payout_destination_confirmed": _payout_destination_confirmed,
    "payout_held": _payout_held,
    "payout_refused": _payout_refused,
    "payout_recovered": _payout_recovered,
    "batch_built": _batch_built,
    "batch_approved": _batch_approved,
    "batch_second_approval": _batch_second_approval,
    "batch_executed": _batch_executed,
    "batch_reopened": _batch_reopened,
    "batch_done": _batch_done,
    "batch_cancelled": _batch_cancelled,
    "batch_exported": _batch_exported,
    "store_updated": _store_updated,
    "api_key_created": _api_key_created,
    "api_key_revoked": _api_key_revoked,
    "api_key_programmes_set": _api_key_programmes_set,
    "stripe_event_replayed": _stripe_event_replayed,
    "stripe_reconciled": _stripe_reconciled,
}

OBJECT_NAMES = {
    "commission": "commission",
    "order": "order",
    "payoutbatch": "payout batch",
    "payout": "payout",
    "apikey": "API key",
    "store": "store",
    "webhookevent": "Stripe event",
    "stripe": "Stripe",
    "advocate": "advocate",
    "fraudsignal": "fraud signal",
    "adjustment": "adjustment",
}


def _fallback(event, _):
    what = event.action.replace("_", " ").strip() or "an action"
    thing = OBJECT_NAMES.get(event.object_type, event.object_type.replace("_", " "))
    return f"{_who(event)} recorded “{what}” on {thing} #{event.object_id}."


def audit_sentence(event, subject=None) -> str:
    """One audit entry as a sentence; `subject` is the object it is about (None: unknown)."""
    try:
        return SENTENCES.get(event.action, _fallback)(event, subject)
    except (AttributeError, KeyError, TypeError, ValueError):
        # Data written by an older version in another shape: still say what happened.
        return _fallback(event, subject)


def audit_sentences(events: Iterable, subjects: dict) -> list[tuple[object, str]]:
    """(event, sentence) for each event, with subjects from `audit_event_subjects`."""
    return [
        (event, audit_sentence(event, subjects.get((event.object_type, event.object_id))))
        for event in events
    ]
