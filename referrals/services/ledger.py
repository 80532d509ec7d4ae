"""Writes to the append-only ledger: `ledger_write` is the only code that adds a row
(`ledger_payout_reservations_sql` is its set-based form, for the payout batch build).

One row per (kind, reference) is a database constraint (`ledger_once_per_reference`): writing
the same movement twice raises IntegrityError, which callers guard with their own locks or
savepoints. Reads (balances, "payable") are in `referrals.ledger_selectors`.

`ledger_adjust` is a manager's manual bonus or correction: an `Adjustment` row (who, why)
and its `adjustment` entry, referenced "adjustment:<id>".
"""

import uuid

from django.db import IntegrityError, transaction

from advocacy.models import Advocate
from kernel.errors import ServiceError
from kernel.money import MAX_AMOUNT, format_money
from referrals.ledger_selectors import payable_balance
from referrals.models import Adjustment, Commission, LedgerEntry
from referrals.services.audit import audit

Kind = LedgerEntry.Kind

# The sign each kind carries (None: either, for a manual adjustment).
_SIGN = {Kind.EARNED: 1, Kind.REVERSED: -1, Kind.PAID: -1, Kind.PAYOUT_FAILED: 1}


def ledger_write(
    *,
    advocate_id: int,
    currency: str,
    kind: str,
    amount: int,
    reference: str,
    commission: Commission | None = None,
    memo: str = "",
) -> LedgerEntry:
    """Append one movement of `amount` (signed, minor units) for an advocate.

    `reference` names what the movement is about ("commission:12", "payout:7", ...); with
    `kind` it is unique. Refuses a zero amount or one whose sign contradicts the kind (an
    earning is a credit, a reservation for payment a debit...): that would be a bug."""
    if kind not in Kind.values:
        raise ValueError(f"Unknown ledger kind {kind!r}.")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise ValueError(f"A ledger amount is a non-zero integer, not {amount!r}.")
    sign = _SIGN.get(kind)
    if sign is not None and amount * sign < 0:
        raise ValueError(f"A {kind} entry can't be {amount}.")
    return LedgerEntry.objects.create(
        advocate_id=advocate_id,
        currency=currency,
        amount=amount,
        kind=kind,
        reference=reference,
        commission=commission,
        memo=memo[:200],
    )


def ledger_payout_reservations_sql(
    *, ledger_table: str, source: str, currency: str, memo: str, now
) -> tuple[str, list]:
    """(SQL, params) of an INSERT that writes, for every payout row of `source` (a relation with
    id, advocate_id and amount: a table with its WHERE, or a CTE), the `paid` entry of -amount
    that reserves it: what `ledger_write(kind=PAID, reference="payout:<id>")` writes one at a
    time, for the batch build's set-based SQL. The caller appends the parameters of `source`."""
    sql = f"""
        INSERT INTO {ledger_table}
            (advocate_id, currency, amount, kind, reference, commission_id, memo, created_at)
        SELECT advocate_id, %s, -amount, '{Kind.PAID.value}', 'payout:' || id, NULL, %s, %s
        FROM {source}
    """  # noqa: S608 (table and source come from model metadata; values are parameters)
    return sql, [currency, memo[:200], now]


@transaction.atomic
def ledger_adjust(
    *, advocate_id: int, kind: str, amount: int, reason: str, actor, token: uuid.UUID
) -> Adjustment:
    """A manager's bonus (a credit) or correction (either sign) for an advocate, in their
    programme's currency, written as one `adjustment` entry and audited.

    `token` is the form's one-time token: the same token again (a double submit) answers with
    the first adjustment and writes nothing. A correction may not take what the advocate can
    be paid (`payable_balance`) below zero: a negative balance arises only from a refund after
    payment, never from a manager's hand. The advocate row is locked, so two corrections at once
    can't both pass that check."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("reason_required", "Say why the balance is adjusted.", field="reason")
    if kind not in Adjustment.Kind.values:
        raise ServiceError("kind_invalid", "Choose a bonus or a correction.", field="kind")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise ServiceError("amount_invalid", "Enter an amount other than zero.", field="amount")
    if abs(amount) > MAX_AMOUNT:
        raise ServiceError(
            "amount_invalid", "That amount is larger than any real one.", field="amount"
        )
    if kind == Adjustment.Kind.BONUS and amount < 0:
        raise ServiceError(
            "amount_invalid",
            "A bonus adds money; use a correction to take some away.",
            field="amount",
        )
    advocate = (
        Advocate.objects.select_for_update(of=("self",))
        .select_related("programme")
        .get(pk=advocate_id)
    )
    existing = Adjustment.objects.filter(token=token).first()
    if existing is not None:
        return existing
    currency = advocate.programme.currency
    if amount < 0:
        payable = payable_balance(advocate, currency)
        if payable + amount < 0:
            raise ServiceError(
                "balance_too_low",
                "A correction can't take the balance below zero: "
                f"{format_money(payable, currency)} is payable now.",
                field="amount",
            )
    try:
        with transaction.atomic():
            adjustment = Adjustment.objects.create(
                advocate=advocate,
                kind=kind,
                currency=currency,
                amount=amount,
                reason=reason[:500],
                created_by=actor,
                token=token,
            )
    except IntegrityError:  # the same token, submitted concurrently
        return Adjustment.objects.get(token=token)
    ledger_write(
        advocate_id=advocate.pk,
        currency=currency,
        kind=Kind.ADJUSTMENT,
        amount=amount,
        reference=f"adjustment:{adjustment.pk}",
        memo=reason,
    )
    audit(
        actor=actor,
        action=f"adjustment_{kind}",
        obj=adjustment,
        reason=reason,
        advocate=advocate.pk,
        amount=amount,
        currency=currency,
    )
    return adjustment
