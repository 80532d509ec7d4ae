"""The audit log: one append-only row for every decision about money."""

from django.db import models

from referrals.models import AuditEvent


def audit(*, actor, action: str, obj: models.Model, reason: str = "", **data) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        object_type=obj._meta.model_name,
        object_id=obj.pk,
        reason=reason[:500],
        data=data,
    )
