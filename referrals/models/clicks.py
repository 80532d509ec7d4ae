"""Clicks on referral links, their daily rollup, and referrals bound to shopper accounts."""

from django.conf import settings
from django.db import models

from advocacy.models import Advocate, RepCode


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
    two always agree: a batch the buffer delivers twice (see referrals.links.buffer) is inserted
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
