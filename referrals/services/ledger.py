"""Writes to the append-only ledger: `ledger_write` is the only code that adds a row
(`ledger_payout_reservations_sql` is its set-based form, for the payout batch build).

One row per (kind, reference) is a database constraint (`ledger_once_per_reference`): writing
the same movement twice raises IntegrityError, which callers guard with their own locks or
savepoints. Reads (balances, "payable") are in `referrals.ledger_selectors`.
"""

from referrals.models import Commission, LedgerEntry

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
