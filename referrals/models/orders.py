"""Orders from every store, their discounts, refunds, disputes and fraud signals.

One order per store and external id (an order number means something in its own store only)
and one discounted order per shopper (where the
programme says so) are database constraints, so a race can't break them."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from advocacy.models import Advocate, Programme, RepCode
from referrals.models.stores import Store


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

    # The store's kind, kept on the order for the integrations that read it (Stripe's lookups).
    source = models.CharField(max_length=10, choices=Source.choices)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="orders")
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
    # A code the order claimed that we don't recognise: the order is kept (a paid order is a
    # fact, a code only a claim), attributed by what else holds, and the claim noted here.
    rejected_code = models.CharField(max_length=64, blank=True)
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
            models.UniqueConstraint(fields=["store", "external_id"], name="order_store_unique"),
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


class FraudSignal(models.Model):
    """Something about an order a person should look at, instead of silently paying or dropping."""

    class Kind(models.TextChoices):
        SELF_REFERRAL = "self_referral", "Self-referral"
        ADVOCATE_INACTIVE = "advocate_inactive", "Advocate not active"
        PROGRAMME_INACTIVE = "programme_inactive", "Programme not active"
        # Paid through a payment provider with an offer the shopper had already used: the money
        # is taken, so the order is kept, without the commission on the second use.
        OFFER_REUSED = "offer_reused", "Offer used again after payment"
        # A one-use offer on an order with no customer email or id: its one use can't be
        # checked, so the order is kept without the commission.
        OFFER_UNVERIFIABLE = "offer_unverifiable", "One-use offer without a shopper"
        # Raised by services/fraud_checks.py (thresholds there, as named constants).
        REPEAT_CUSTOMER = "repeat_customer", "Many orders from one customer"
        FAST_ORDER = "fast_order", "Ordered seconds after the click"
        DUPLICATE_ACCOUNT = "duplicate_account", "Shopper is another advocate"
        REFUND_RATE = "refund_rate", "Refund rate far above the programme's"

    class Resolution(models.TextChoices):
        DISMISSED = "dismissed", "Dismissed"
        CREDITED = "credited", "Commission granted"

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
    # Who decided, how and why (services.fraud.fraud_signal_resolve; also in the audit log).
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    resolution_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = "fraud signal"
        verbose_name_plural = "fraud signals"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="fraud_signal_once_per_order"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.order_id}"


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
