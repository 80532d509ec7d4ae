"""Programmes, the advocates who join them and the rep codes they share.

Amounts are integers in the minor unit of the programme's currency (cents, pence); rates are
Decimals. Nothing here knows about orders or commissions (that is `referrals`).
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Upper
from django.urls import reverse

from kernel.money import CURRENCY_CHOICES


class RewardKind(models.TextChoices):
    PERCENT = "percent", "Percentage of the order"
    FIXED = "fixed", "Fixed amount"


class PayoutSchedule(models.TextChoices):
    OFF = "off", "Off: managers build batches themselves"
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


class Programme(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ENDED = "ended", "Ended"

    class Audience(models.TextChoices):
        CUSTOMERS = "customers", "Customers"
        EMPLOYEES = "employees", "Employees"
        PARTNERS = "partners", "Partners (retailers, agents)"
        INFLUENCERS = "influencers", "Influencers"

    class JoinPolicy(models.TextChoices):
        OPEN = "open", "Anyone with a verified email"
        INVITE = "invite", "Invitation only"

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default="EUR")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    audience = models.CharField(max_length=12, choices=Audience.choices, default=Audience.CUSTOMERS)
    join_policy = models.CharField(max_length=10, choices=JoinPolicy.choices, default="open")
    description = models.TextField(blank=True, help_text="One or two sentences advocates see.")

    # What the shopper gets.
    shopper_reward_kind = models.CharField(
        max_length=10, choices=RewardKind.choices, default=RewardKind.PERCENT
    )
    shopper_reward_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    shopper_reward_amount = models.PositiveBigIntegerField(
        default=0, help_text="Fixed discount in minor units (cents)."
    )
    shopper_min_order = models.PositiveBigIntegerField(
        default=0, help_text="Smallest order (minor units, before discount) that gets the offer."
    )
    shopper_first_order_only = models.BooleanField(
        default=False, help_text="Only a shopper's first order in this programme gets the offer."
    )
    shopper_one_use = models.BooleanField(
        default=True, help_text="Each shopper may use the offer once (enforced by the database)."
    )

    # What the advocate earns on each referred sale; the base is the order's net amount.
    advocate_reward_kind = models.CharField(
        max_length=10, choices=RewardKind.choices, default=RewardKind.PERCENT
    )
    advocate_reward_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    advocate_reward_amount = models.PositiveBigIntegerField(
        default=0, help_text="Fixed commission in minor units (cents)."
    )

    advocate_recurring_months = models.PositiveSmallIntegerField(
        default=0,
        help_text=(
            "Subscriptions: the advocate also earns on renewal invoices for this many months "
            "after the first payment; 0 = the first payment only."
        ),
    )

    attribution_window_days = models.PositiveIntegerField(
        default=30, help_text="How long after a click an order still counts."
    )
    hold_days = models.PositiveIntegerField(
        default=30, help_text="Commissions wait this long (the refund window) before approval."
    )
    payout_threshold = models.PositiveBigIntegerField(
        default=0, help_text="Smallest balance (minor units) paid out."
    )
    auto_approve_limit = models.PositiveBigIntegerField(
        default=0,
        help_text=("Commissions up to this amount are approved without review; 0 = all reviewed."),
    )
    dual_approval_above = models.PositiveBigIntegerField(
        default=0,
        help_text=(
            "Payout batches above this total (minor units) need a second manager; 0 = the "
            "site's default (STREETTEAM_PAYOUT_DUAL_APPROVAL_ABOVE, 50000 unless changed)."
        ),
    )
    # The payout schedule: a draft batch built on a fixed day for managers to approve. Days of
    # the month stop at 28 so every month has the day (no batch silently skipped in February).
    payout_schedule = models.CharField(
        "payout schedule",
        max_length=8,
        choices=PayoutSchedule.choices,
        default=PayoutSchedule.OFF,
        help_text=(
            "Build a draft payout batch on a fixed day. Managers still review and approve every "
            "batch: nothing is paid without their approval."
        ),
    )
    payout_schedule_weekday = models.PositiveSmallIntegerField(
        "weekday of the weekly batch",
        choices=WEEKDAYS,
        default=0,
        help_text="For a weekly schedule: the day of the week the batch is built.",
    )
    payout_schedule_day = models.PositiveSmallIntegerField(
        "day of the monthly batch",
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="For a monthly schedule: the day of the month the batch is built, 1 to 28.",
    )
    payout_schedule_backend = models.CharField(
        "scheduled batches pay through",
        max_length=20,
        choices=[("manual", "Manual (CSV)"), ("stripe_connect", "Stripe Connect")],
        default="manual",
        help_text=(
            "Manual: you pay from the batch's bank, PayPal or Wise file. Stripe Connect: "
            "transfers to the advocates' connected accounts once the batch is approved."
        ),
    )
    landing_url = models.URLField(
        blank=True,
        help_text=(
            "A page of your shop that referral links lead to; Streetteam adds st_code, st_win and "
            "st_vid for the merchant script. It must share its origin with your checkout. "
            "Empty: the programme's campaign page."
        ),
    )
    terms = models.TextField(blank=True, help_text="Terms advocates accept when they join.")
    # Stripe mirror: the coupon every rep code's promotion code hangs under (empty: not synced).
    stripe_coupon_id = models.CharField(max_length=255, blank=True, editable=False)
    stripe_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    stripe_sync_error = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "programme"
        verbose_name_plural = "programmes"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shopper_reward_percent__gte=0, shopper_reward_percent__lte=100),
                name="programme_shopper_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(advocate_reward_percent__gte=0, advocate_reward_percent__lte=100),
                name="programme_advocate_percent_range",
            ),
            models.CheckConstraint(
                condition=Q(payout_schedule_weekday__gte=0, payout_schedule_weekday__lte=6),
                name="programme_payout_weekday_range",
            ),
            models.CheckConstraint(
                condition=Q(payout_schedule_day__gte=1, payout_schedule_day__lte=28),
                name="programme_payout_day_range",
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # The same rule for a save that skipped the form (a shell, a script, another app's
        # code): stranded money is worse than an exception.
        update_fields = kwargs.get("update_fields")
        if self.pk is not None and (update_fields is None or "currency" in update_fields):
            refusal = self.currency_change_refusal(self.currency)
            if refusal:
                raise ValidationError({"currency": refusal})
        super().save(*args, **kwargs)

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def get_join_url(self) -> str:
        return reverse("programme_join", kwargs={"slug": self.slug})

    def has_money_recorded(self) -> bool:
        """A commission or a ledger entry of one of its advocates exists. (By the reverse
        relations' names: advocacy imports nothing of referrals, decision 0002.)"""
        advocates = Advocate.objects.filter(programme_id=self.pk)
        return (
            advocates.filter(commissions__isnull=False).exists()
            or advocates.filter(ledger__isnull=False).exists()
        )

    def currency_change_refusal(self, currency: str) -> str:
        """Why the currency can't become `currency`, or "". Once money was recorded in the
        programme's currency, a change would strand it: the payout build and the advocates'
        figures read the programme's currency."""
        stored = Programme.objects.filter(pk=self.pk).values_list("currency", flat=True).first()
        if self.pk is None or stored in (None, currency) or not self.has_money_recorded():
            return ""
        return (
            f"The currency can't change: advocates have already earned money in {stored} in "
            "this programme. Start a new programme for another currency."
        )

    def clean(self):
        super().clean()
        refusal = self.currency_change_refusal(self.currency)
        if refusal:
            raise ValidationError({"currency": refusal})


class Advocate(models.Model):
    """A user's membership of one programme."""

    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        BANNED = "banned", "Banned"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="advocacies"
    )
    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="advocates")

    class PayoutMethod(models.TextChoices):
        BANK = "bank", "Bank transfer (IBAN)"
        PAYPAL = "paypal", "PayPal"
        STRIPE_CONNECT = "stripe_connect", "Stripe Connect"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # Why a manager last changed the status (required to pause or ban), and when; the audit log
    # keeps every change, these the latest one for the advocate's page.
    status_reason = models.CharField(max_length=500, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    payout_method = models.CharField(max_length=20, choices=PayoutMethod.choices, blank=True)
    # Account holder, IBAN / PayPal email; what the manual backend's CSV needs. Never logged.
    payout_details = models.JSONField(default=dict, blank=True)
    stripe_account_id = models.CharField(max_length=64, blank=True)
    # The connected account's state as Stripe last reported it (account.updated).
    stripe_details_submitted = models.BooleanField(default=False, editable=False)
    stripe_payouts_enabled = models.BooleanField(default=False, editable=False)
    stripe_requirements_due = models.JSONField(default=list, blank=True, editable=False)
    # Requirements whose deadline passed (payouts stop until they are met), and why Stripe has
    # disabled the account, if it has (Stripe's code, e.g. "requirements.past_due").
    stripe_requirements_past_due = models.JSONField(default=list, blank=True, editable=False)
    stripe_disabled_reason = models.CharField(max_length=64, blank=True, editable=False)
    stripe_account_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    joined_at = models.DateTimeField(null=True, blank=True)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "advocate"
        verbose_name_plural = "advocates"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "programme"], name="advocate_one_per_programme"
            ),
        ]

    def __str__(self):
        return f"{self.user} in {self.programme}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9-]{2,31}$",
    "Use 3 to 32 letters, digits or hyphens, starting with a letter or digit.",
)


class RepCode(models.Model):
    """The code a shopper types at checkout and the slug of /r/<CODE>.

    Stored upper-case (a check constraint keeps it so) and unique across the whole site, so
    matching is case-insensitive by upper-casing the input. Codes are deactivated, never deleted:
    old links and printed QR codes must keep resolving to someone.
    """

    code = models.CharField(max_length=32, unique=True, validators=[code_validator])
    advocate = models.ForeignKey(Advocate, on_delete=models.PROTECT, related_name="codes")
    channel = models.CharField(
        max_length=40, blank=True, help_text="Where this code is used (a shop, a channel)."
    )
    is_active = models.BooleanField(default=True)
    is_vanity = models.BooleanField(default=False)
    # Stripe mirror: the promotion code with the same text (empty: not synced).
    stripe_promotion_code_id = models.CharField(
        max_length=255, blank=True, db_index=True, editable=False
    )
    stripe_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    stripe_sync_error = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "rep code"
        verbose_name_plural = "rep codes"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(code=Upper(F("code"))), name="repcode_upper_case"),
        ]

    def __str__(self):
        return self.code

    def get_share_url(self) -> str:
        return settings.SITE_URL + reverse("referral_redirect", kwargs={"code": self.code})


class Customer(models.Model):
    """A shop customer, for finding likely advocates (order history in, loyalty score out).

    Imported from Stripe, CSV or the API; one row per email address (stored lower-case).
    Amounts in minor units of `currency`.
    """

    class Source(models.TextChoices):
        API = "api", "API"
        STRIPE = "stripe", "Stripe"
        CSV = "csv", "CSV import"

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    external_id = models.CharField(max_length=255, blank=True, help_text="The shop's own id.")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    order_count = models.PositiveIntegerField(default=0)
    total_spent = models.PositiveBigIntegerField(default=0)
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "customer"
        verbose_name_plural = "customers"
        ordering = ["-last_order_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(email=Lower(F("email"))), name="customer_email_lower"
            ),
        ]

    def __str__(self):
        return self.email
