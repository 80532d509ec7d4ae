"""Commissions and the append-only ledger their money moves through.

One commission per order, advocate and rule and one ledger entry per kind and reference are
database constraints; ledger rows are never updated or deleted."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from advocacy.models import Advocate
from referrals.models.orders import Order


class Commission(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        PAID = "paid", "Paid"
        REVERSED = "reversed", "Reversed"
        REJECTED = "rejected", "Rejected"

    class Rule(models.TextChoices):
        SALE = "sale", "Referred sale"
        RECURRING = "recurring", "Subscription renewal"

    # No single-column indexes on order and advocate: commission_once_per_rule (order first)
    # and commission_advocate_status (advocate first) serve those lookups, and every index
    # is one more write when a payout build links 100k commissions.
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="commissions", db_index=False
    )
    advocate = models.ForeignKey(
        Advocate, on_delete=models.PROTECT, related_name="commissions", db_index=False
    )
    rule = models.CharField(max_length=20, choices=Rule.choices, default=Rule.SALE)
    currency = models.CharField(max_length=3)
    base_amount = models.BigIntegerField(help_text="The order's net amount the rate applied to.")
    amount = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    hold_until = models.DateTimeField()
    # An open dispute on the order freezes the commission: it can't be approved or paid until
    # the dispute is won (unfrozen) or lost (reversed).
    frozen = models.BooleanField(default=False)
    # Set when an approved commission is gathered into a payout. Not indexed: a payout's
    # commissions are found through commission_advocate_status (a payout is one advocate's;
    # filter by `advocate` too), and with no index on it, linking 100k commissions in a batch
    # build rewrites them in place (HOT updates, helped by the table's fillfactor, migration
    # 0008) instead of adding an entry to every index for every row.
    payout = models.ForeignKey(
        "Payout",
        on_delete=models.PROTECT,
        related_name="commissions",
        null=True,
        blank=True,
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # The only moves a commission may make; anything else is a bug or an attack.
    TRANSITIONS = {
        Status.PENDING: {Status.APPROVED, Status.REJECTED, Status.REVERSED},
        Status.APPROVED: {Status.PAID, Status.REVERSED},
        Status.PAID: set(),
        Status.REVERSED: set(),
        Status.REJECTED: set(),
    }

    class Meta:
        verbose_name = "commission"
        verbose_name_plural = "commissions"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "advocate", "rule"], name="commission_once_per_rule"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="commission_non_negative"),
        ]
        indexes = [models.Index(fields=["advocate", "status"], name="commission_advocate_status")]

    def __str__(self):
        return f"{self.amount} {self.currency} for {self.order}"


class AppendOnlyQuerySet(models.QuerySet):
    """For tables that are only ever appended to (the ledger, the audit log)."""

    def update(self, **kwargs):
        raise TypeError(f"{self.model.__name__} rows are append-only; add a correcting row.")

    def delete(self):
        raise TypeError(f"{self.model.__name__} rows are append-only; add a correcting row.")


class LedgerEntry(models.Model):
    """Append-only money movements. An advocate's balance is the sum of their entries."""

    class Kind(models.TextChoices):
        EARNED = "earned", "Earned"
        REVERSED = "reversed", "Reversed"
        PAID = "paid", "Paid out"
        PAYOUT_FAILED = "payout_failed", "Payout failed"
        ADJUSTMENT = "adjustment", "Adjustment"

    # Indexed by ledger_advocate_currency (advocate first), not on its own.
    advocate = models.ForeignKey(
        Advocate, on_delete=models.PROTECT, related_name="ledger", db_index=False
    )
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(help_text="Signed: credits positive, debits negative.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # What this entry is about, as "<model>:<id>[:<part>]"; with kind, unique: no double entry.
    reference = models.CharField(max_length=80)
    commission = models.ForeignKey(
        Commission, on_delete=models.PROTECT, related_name="ledger", null=True, blank=True
    )
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "ledger entry"
        verbose_name_plural = "ledger entries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "reference"], name="ledger_once_per_reference"),
        ]
        indexes = [models.Index(fields=["advocate", "currency"], name="ledger_advocate_currency")]

    def __str__(self):
        return f"{self.kind} {self.amount} {self.currency} ({self.reference})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("Ledger entries are append-only; write a correcting entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Ledger entries are append-only; write a correcting entry instead.")


class Adjustment(models.Model):
    """A manager's manual bonus or correction for an advocate: who and why, beside the
    `adjustment` ledger entry it is written as (reference "adjustment:<id>")."""

    class Kind(models.TextChoices):
        BONUS = "bonus", "Bonus"
        CORRECTION = "correction", "Correction"

    advocate = models.ForeignKey(Advocate, on_delete=models.PROTECT, related_name="adjustments")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField(help_text="Signed minor units: credits positive.")
    reason = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The form's one-time token: a double submit finds the first row instead of a second one.
    token = models.UUIDField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "adjustment"
        verbose_name_plural = "adjustments"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="adjustment_non_zero"),
            models.CheckConstraint(
                condition=~Q(kind="bonus") | Q(amount__gt=0), name="adjustment_bonus_positive"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.amount} {self.currency} for {self.advocate_id}"
