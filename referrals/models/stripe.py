"""Stripe webhook events, each stored once by its id and applied once."""

from django.db import models


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


class StripeLink(models.Model):
    """One Stripe object (a PaymentIntent, Charge, Checkout Session, Invoice...) and the order key
    it belongs to: the `external_id` of the Stripe order that records its money.

    An order is recorded under one id (the invoice for a subscription payment, the PaymentIntent
    for a one-off payment, the charge for a Charges-API payment); refunds, disputes and duplicate
    payment events name other objects of the same payment. Each event that tells how two objects
    belong together adds a link, so every later event finds the one order whatever it names. A
    link can come before its order (a charge's event before the payment's); the first link of an
    object stands (unique by Stripe id; later conflicting ones are dropped).
    """

    stripe_id = models.CharField(max_length=255)
    order_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Stripe object link"
        verbose_name_plural = "Stripe object links"
        constraints = [
            models.UniqueConstraint(fields=["stripe_id"], name="stripe_link_once"),
        ]
        indexes = [models.Index(fields=["order_key"], name="stripe_link_order_key")]

    def __str__(self):
        return f"{self.stripe_id} -> {self.order_key}"
