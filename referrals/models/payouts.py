"""Payout batches and the payouts inside them."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from advocacy.models import Advocate, Programme


class PayoutBatch(models.Model):
    """Approved balances gathered for payment: built, reviewed, approved, executed."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Awaiting approval"
        APPROVED = "approved", "Approved"
        EXECUTING = "executing", "Paying"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Backend(models.TextChoices):
        MANUAL = "manual", "Manual (CSV export, then mark paid)"
        STRIPE_CONNECT = "stripe_connect", "Stripe Connect transfers"

    # The only moves a batch may make (payouts.services.transitions applies them). A draft
    # with one of two approvals stays a draft; a retry after the last payout settled reopens a
    # done batch.
    TRANSITIONS = {
        Status.DRAFT: {Status.APPROVED, Status.CANCELLED},
        Status.APPROVED: {Status.EXECUTING},
        Status.EXECUTING: {Status.DONE},
        Status.DONE: {Status.EXECUTING},
        Status.CANCELLED: set(),
    }

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="batches")
    currency = models.CharField(max_length=3)
    backend = models.CharField(max_length=20, choices=Backend.choices, default=Backend.MANUAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    total_amount = models.BigIntegerField(default=0)
    payout_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    second_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    second_approved_at = models.DateTimeField(null=True, blank=True)
    # The day the programme's payout schedule built this batch for (None: a manager built it).
    # Unique per programme, so the schedule builds at most one batch a period, however often
    # its task runs or however many workers run it at once.
    scheduled_for = models.DateField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "payout batch"
        verbose_name_plural = "payout batches"
        ordering = ["-created_at"]
        permissions = [("approve_payoutbatch", "Can approve and execute payout batches")]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "scheduled_for"], name="payoutbatch_once_per_schedule_day"
            )
        ]

    def __str__(self):
        return f"Batch {self.pk} ({self.currency}, {self.get_status_display()})"


class Payout(models.Model):
    """One advocate's share of a batch. Executed at most once (see services.payouts)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # The only moves a payout may make: a manual payout is marked paid (or failed) straight
    # from pending; a backend payout is committed as processing before the backend is called;
    # cancelling its (draft) batch cancels a pending payout. Paid, failed and cancelled are
    # final (a retry is a new payout; a cancelled payout's money goes into the next batch).
    TRANSITIONS = {
        Status.PENDING: {Status.PROCESSING, Status.PAID, Status.FAILED, Status.CANCELLED},
        Status.PROCESSING: {Status.PAID, Status.FAILED},
        Status.PAID: set(),
        Status.FAILED: set(),
        Status.CANCELLED: set(),
    }

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="payouts")
    advocate = models.ForeignKey(Advocate, on_delete=models.PROTECT, related_name="payouts")
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # What the backend answered: a Stripe transfer id, or the manager's bank reference.
    external_ref = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    # Where the money goes, fixed when the batch is approved (what the approvers saw): the bank
    # CSV and the Stripe transfer pay here, not to whatever the advocate's details say by then.
    # method is the advocate's payout method (stripe_connect for a Stripe batch); account the
    # full IBAN, PayPal email or Stripe account id (never logged or shown unmasked). Database
    # defaults: the set-based batch build inserts payouts before approval fixes these.
    destination_method = models.CharField(max_length=20, blank=True, db_default="")
    destination_account = models.CharField(max_length=255, blank=True, db_default="")
    destination_holder = models.CharField(max_length=200, blank=True, db_default="")
    destination_fixed_at = models.DateTimeField(null=True, blank=True)
    retry_of = models.OneToOneField(
        "self", on_delete=models.PROTECT, related_name="retry", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When it was committed as processing (the backend about to be called): a payout still
    # processing long after is stuck, and payouts.services.recovery asks the backend about it.
    processing_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "payout"
        verbose_name_plural = "payouts"
        ordering = ["-created_at"]
        constraints = [
            # One original payout per advocate and batch; retries (retry_of set, one-to-one)
            # join the same batch.
            models.UniqueConstraint(
                fields=["batch", "advocate"],
                condition=Q(retry_of__isnull=True),
                name="payout_once_per_batch",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payout_positive"),
        ]

    def __str__(self):
        return f"Payout {self.pk}: {self.amount} {self.currency} to {self.advocate_id}"

    @property
    def idempotency_key(self) -> str:
        # Derived from our own row: a retried call after a crash is the same call to Stripe.
        return f"streetteam-payout-{self.pk}"
