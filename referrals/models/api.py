"""Merchant API keys (stored hashed) and the Idempotency-Key records of the order API."""

from django.conf import settings
from django.db import models

from advocacy.models import Programme
from referrals.models.stores import Store


class ApiKey(models.Model):
    """A merchant's key for the REST API. Only a hash is stored; the key is shown once.

    The key reads "st_<prefix>_<secret>": the prefix finds the row, the secret is compared by
    hash. It belongs to one store and sees only that store's orders; scoped to programmes
    (none = all the store's), revoked rather than deleted.
    """

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="api_keys")
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
