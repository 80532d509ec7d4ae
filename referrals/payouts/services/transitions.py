"""The only code that changes a payout's or a batch's status: each move is checked against the
model's TRANSITIONS map and leaves exactly one audit row (as `commission_transition` does for
commissions). Callers lock the row first; an illegal move raises ServiceError and changes
nothing."""

from django.db import models

from kernel.errors import ServiceError
from referrals.models import Payout, PayoutBatch
from referrals.services.audit import audit


def _transition(
    obj: models.Model, *, to: str, code: str, actor, action: str, reason: str, update, data
):
    if to not in type(obj).TRANSITIONS[obj.status]:
        raise ServiceError(
            code,
            f"This {obj._meta.verbose_name} is {obj.get_status_display().lower()}; "
            f"it can't become {to}.",
        )
    before = obj.status
    fields = {"status": to, **(update or {})}
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.save(update_fields=list(fields))
    audit(actor=actor, action=action, obj=obj, reason=reason, before=before, after=to, **data)
    return obj


def payout_transition(
    *,
    payout: Payout,
    to: str,
    actor=None,
    reason: str = "",
    action: str | None = None,
    update: dict | None = None,
    **data,
) -> Payout:
    """Move a (locked) payout to `to`, saving `update` (other fields) with it, and audit it
    (`payout_<to>` unless `action` says otherwise; `data` goes into the row)."""
    return _transition(
        payout,
        to=to,
        code="payout_transition_invalid",
        actor=actor,
        action=action or f"payout_{to}",
        reason=reason,
        update=update,
        data=data,
    )


def payout_batch_transition(
    *,
    batch: PayoutBatch,
    to: str,
    actor=None,
    reason: str = "",
    action: str | None = None,
    update: dict | None = None,
    **data,
) -> PayoutBatch:
    """Move a (locked) batch to `to`, saving `update` (approvers...) with it, and audit it
    (`batch_<to>` unless `action` says otherwise; `data` goes into the row)."""
    return _transition(
        batch,
        to=to,
        code="batch_transition_invalid",
        actor=actor,
        action=action or f"batch_{to}",
        reason=reason,
        update=update,
        data=data,
    )
