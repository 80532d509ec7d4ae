"""Clicks, orders, commissions and the ledger.

Money is integer minor units with the currency beside it. Every rule that must survive a race
(one order per source and external id, one commission per order, advocate and rule, one ledger
entry per kind and reference, one discounted order per shopper where the programme says so) is
a database constraint, not a check in Python.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from advocacy.models import Advocate, Programme, RepCode


class Click(models.Model):
    """One visit to /r/<CODE>. Written in batches from the click buffer, never on the request."""

    rep_code = models.ForeignKey(RepCode, on_delete=models.PROTECT, related_name="clicks")
    # Denormalised so the dashboard counts clicks with one indexed range scan.
    advocate = models.ForeignKey(Advocate, on_delete=models.PROTECT, related_name="clicks")
    created_at = models.DateTimeField()
    visitor_id = models.CharField(max_length=32, blank=True)
    # Salted hash: enough to spot many clicks from one address, useless to identify anyone.
    ip_hash = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    referrer = models.CharField(max_length=500, blank=True)
    landing = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = "click"
        verbose_name_plural = "clicks"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["advocate", "created_at"], name="click_advocate_time"),
            # The API attributes an order to a visitor's last click.
            models.Index(fields=["visitor_id", "created_at"], name="click_visitor_time"),
        ]

    def __str__(self):
        return f"{self.rep_code_id} at {self.created_at:%Y-%m-%d %H:%M}"


class ClickDaily(models.Model):
    """How many Click rows a code has per UTC day: the dashboard sums these instead of counting
    an advocate's clicks one by one (100k rows for a busy advocate, a year is 365 of these).

    Written only by `clicks_drain`, in the same transaction as the Click rows it counts, so the
    two always agree: a batch the buffer delivers twice (see referrals.clickbuffer) is inserted
    and counted twice, never one without the other.
    """

    rep_code = models.ForeignKey(RepCode, on_delete=models.PROTECT, related_name="+")
    # Denormalised like Click.advocate: the dashboard sums by advocate over one index.
    advocate = models.ForeignKey(Advocate, on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "daily click count"
        verbose_name_plural = "daily click counts"
        constraints = [
            # The drain's upsert target: one row per code and day, incremented in place.
            models.UniqueConstraint(fields=["rep_code", "day"], name="clickdaily_code_day"),
        ]
        indexes = [
            models.Index(fields=["advocate", "day"], name="clickdaily_advocate_day"),
        ]

    def __str__(self):
        return f"{self.rep_code_id} on {self.day}: {self.clicks}"


class Attribution(models.TextChoices):
    CODE = "code", "Code typed at checkout"
    LINK = "link", "Referral link (cookie)"
    ACCOUNT = "account", "Account referred at signup"
    METADATA = "metadata", "Order metadata"
    NONE = "none", "Not referred"


class Order(models.Model):
    class Source(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        API = "api", "API"
        SANDBOX = "sandbox", "Sandbox store"

    class Status(models.TextChoices):
        PAID = "paid", "Paid"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        REFUNDED = "refunded", "Refunded"

    source = models.CharField(max_length=10, choices=Source.choices)
    external_id = models.CharField(max_length=255)
    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="orders", null=True, blank=True
    )
    rep_code = models.ForeignKey(
        RepCode, on_delete=models.PROTECT, related_name="orders", null=True, blank=True
    )
    # The advocate credited; empty when the order was not referred or earns nothing (flagged).
    advocate = models.ForeignKey(
        Advocate, on_delete=models.PROTECT, related_name="orders", null=True, blank=True
    )
    attribution = models.CharField(
        max_length=10, choices=Attribution.choices, default=Attribution.NONE
    )
    shopper_email_hash = models.CharField(max_length=64, blank=True, db_index=True)
    shopper_customer_id = models.CharField(max_length=255, blank=True)
    # Stripe subscription the order (an invoice) belongs to; renewals earn through the first one.
    subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    shopper_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="orders",
        null=True,
        blank=True,
    )
    currency = models.CharField(max_length=3)
    # gross = goods before the discount; net = gross - discount, the commission base.
    # Tax and shipping are kept beside, outside the base.
    gross_amount = models.BigIntegerField()
    discount_amount = models.BigIntegerField(default=0)
    net_amount = models.BigIntegerField()
    tax_amount = models.BigIntegerField(default=0)
    shipping_amount = models.BigIntegerField(default=0)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PAID)
    placed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "order"
        verbose_name_plural = "orders"
        ordering = ["-placed_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="order_source_unique"),
            models.CheckConstraint(condition=Q(gross_amount__gt=0), name="order_gross_positive"),
            models.CheckConstraint(
                condition=Q(discount_amount__gte=0, discount_amount__lte=F("gross_amount")),
                name="order_discount_within_gross",
            ),
            models.CheckConstraint(
                condition=Q(net_amount=F("gross_amount") - F("discount_amount")),
                name="order_net_is_gross_minus_discount",
            ),
            models.CheckConstraint(
                condition=Q(tax_amount__gte=0, shipping_amount__gte=0),
                name="order_tax_shipping_non_negative",
            ),
        ]
        indexes = [models.Index(fields=["advocate", "placed_at"], name="order_advocate_time")]

    def __str__(self):
        return f"{self.get_source_display()} order {self.external_id}"


class DiscountRedemption(models.Model):
    """A shopper's use of a programme's offer, where the programme allows one use per shopper.

    The unique constraint is the guard: two concurrent checkouts by the same shopper cannot both
    insert a row, so only one of them gets the discount.
    """

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="+")
    shopper_key = models.CharField(max_length=64)
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="redemption")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "discount redemption"
        verbose_name_plural = "discount redemptions"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["programme", "shopper_key"], name="redemption_one_per_shopper"
            ),
        ]

    def __str__(self):
        return f"{self.shopper_key[:8]}… in {self.programme_id}"


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


class FraudSignal(models.Model):
    """Something about an order a person should look at, instead of silently paying or dropping."""

    class Kind(models.TextChoices):
        SELF_REFERRAL = "self_referral", "Self-referral"
        ADVOCATE_INACTIVE = "advocate_inactive", "Advocate not active"
        PROGRAMME_INACTIVE = "programme_inactive", "Programme not active"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="fraud_signals", null=True, blank=True
    )
    advocate = models.ForeignKey(
        Advocate, on_delete=models.PROTECT, related_name="fraud_signals", null=True, blank=True
    )
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "fraud signal"
        verbose_name_plural = "fraud signals"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="fraud_signal_once_per_order"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.order_id}"


class ReferredAccount(models.Model):
    """A shopper who signed up after following a link keeps that link's attribution.

    Written in the signup transaction (session keys rotate at login, cookies get cleared), so a
    later order by this user is attributed even without the cookie.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="referred_by"
    )
    rep_code = models.ForeignKey(RepCode, on_delete=models.PROTECT, related_name="+")
    clicked_at = models.DateTimeField()
    visitor_id = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "referred account"
        verbose_name_plural = "referred accounts"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user} via {self.rep_code_id}"


class Refund(models.Model):
    """Money returned to the shopper: each refund once, by its own id and amount."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    external_id = models.CharField(max_length=255)
    amount = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "refund"
        verbose_name_plural = "refunds"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="refund_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_positive"),
        ]

    def __str__(self):
        return f"Refund {self.external_id} of {self.amount} on {self.order_id}"


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="disputes")
    external_id = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "dispute"
        verbose_name_plural = "disputes"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="dispute_once"),
        ]

    def __str__(self):
        return f"Dispute {self.external_id} ({self.status})"


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

    class Meta:
        verbose_name = "payout batch"
        verbose_name_plural = "payout batches"
        ordering = ["-created_at"]
        permissions = [("approve_payoutbatch", "Can approve and execute payout batches")]

    def __str__(self):
        return f"Batch {self.pk} ({self.currency}, {self.get_status_display()})"


class Payout(models.Model):
    """One advocate's share of a batch. Executed at most once (see services.payouts)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="payouts")
    advocate = models.ForeignKey(Advocate, on_delete=models.PROTECT, related_name="payouts")
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    # What the backend answered: a Stripe transfer id, or the manager's bank reference.
    external_ref = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=300, blank=True)
    retry_of = models.OneToOneField(
        "self", on_delete=models.PROTECT, related_name="retry", null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
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


class AuditEvent(models.Model):
    """Who did what to which money object, when and why. Append-only."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.BigIntegerField()
    reason = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = "audit event"
        verbose_name_plural = "audit log"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self):
        who = self.actor or "system"
        return f"{who} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise TypeError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The audit log is append-only.")


class ApiKey(models.Model):
    """A merchant's key for the REST API. Only a hash is stored; the key is shown once.

    The key reads "st_<prefix>_<secret>": the prefix finds the row, the secret is compared by
    hash. Scoped to programmes (none = all), revoked rather than deleted.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    programmes = models.ManyToManyField(Programme, blank=True, related_name="api_keys")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} (st_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(models.Model):
    """The first answer to a request carrying an Idempotency-Key, replayed for repeats."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "idempotency key"
        verbose_name_plural = "idempotency keys"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_once"),
        ]

    def __str__(self):
        return self.key


class WebhookEvent(models.Model):
    """A Stripe event whose signature checked out, stored once by its id before it is applied.

    The webhook answers as soon as the event is stored; a task applies it through the services.
    An event that could not be applied (failed) keeps the reason and can be replayed.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "Stripe webhook event"
        verbose_name_plural = "Stripe webhook events"
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "received_at"], name="webhookevent_status_time")]

    def __str__(self):
        return f"{self.type} {self.stripe_id} ({self.status})"
