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
