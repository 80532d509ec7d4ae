"""Stores: the integrations a merchant connects, each with its own orders and API keys."""

from django.db import models

from advocacy.models import Programme


class Store(models.Model):
    """Where orders come from: a shop on the REST API, the sandbox store, or Stripe.

    An order belongs to one store and its id is unique in that store only, so two shops whose
    order numbers overlap each keep their own orders. An API key belongs to one store and sees
    only that store's orders. The store's programmes (none = all) bound what its keys can
    attribute to, on top of each key's own programmes.
    """

    class Kind(models.TextChoices):
        API = "api", "API"
        SANDBOX = "sandbox", "Sandbox store"
        STRIPE = "stripe", "Stripe"

    name = models.CharField(max_length=100)
    # "sandbox", "stripe" and "api-default" name the built-in stores (services.stores).
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.API)
    programmes = models.ManyToManyField(Programme, blank=True, related_name="stores")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "store"
        verbose_name_plural = "stores"
        ordering = ["name"]

    def __str__(self):
        return self.name
