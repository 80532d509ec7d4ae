"""factory_boy factories for the suite (cookiecutter-django `users/tests/factories.py` style).

`ProgrammeFactory` is the programme the money rules are described against: active, EUR,
20% off for the shopper, 10% commission for the advocate, a 30-day hold and a 30-day window.
"""

from datetime import timedelta
from decimal import Decimal

import factory
from allauth.account.models import EmailAddress
from django.db.models import F
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import User
from advocacy.codes import random_code
from advocacy.models import Advocate, Programme, RepCode, RewardKind
from referrals.models import (
    ApiKey,
    ClickDaily,
    Commission,
    FraudSignal,
    Order,
    Payout,
    PayoutBatch,
    Store,
)
from referrals.services.ledger import ledger_write
from referrals.services.orders import order_ingest
from referrals.services.stores import store_built_in

PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory):
    """A user who can log in with PASSWORD; their email is verified unless `verified=False`."""

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)

    class Meta:
        model = User
        skip_postgeneration_save = True

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        if not create:
            return
        EmailAddress.objects.create(
            user=obj,
            email=obj.email,
            primary=True,
            verified=True if extracted is None else bool(extracted),
        )


class ProgrammeFactory(DjangoModelFactory):
    name = factory.Faker("company")
    slug = factory.Sequence(lambda n: f"programme-{n}")
    currency = "EUR"
    status = Programme.Status.ACTIVE
    join_policy = Programme.JoinPolicy.OPEN
    description = factory.Faker("sentence")
    shopper_reward_kind = RewardKind.PERCENT
    shopper_reward_percent = Decimal("20")
    shopper_reward_amount = 0
    shopper_min_order = 0
    shopper_first_order_only = False
    shopper_one_use = True
    advocate_reward_kind = RewardKind.PERCENT
    advocate_reward_percent = Decimal("10")
    advocate_reward_amount = 0
    attribution_window_days = 30
    hold_days = 30
    terms = factory.Faker("paragraph")

    class Meta:
        model = Programme


class AdvocateFactory(DjangoModelFactory):
    user = factory.SubFactory(UserFactory)
    programme = factory.SubFactory(ProgrammeFactory)
    status = Advocate.Status.ACTIVE
    joined_at = factory.LazyFunction(timezone.now)
    terms_accepted_at = factory.LazyFunction(timezone.now)

    class Meta:
        model = Advocate


class RepCodeFactory(DjangoModelFactory):
    code = factory.LazyFunction(random_code)
    advocate = factory.SubFactory(AdvocateFactory)
    is_active = True

    class Meta:
        model = RepCode


class ClickDailyFactory(DjangoModelFactory):
    """A code's click count for one UTC day, as the click drain keeps it."""

    rep_code = factory.SubFactory(RepCodeFactory)
    advocate = factory.LazyAttribute(lambda o: o.rep_code.advocate)
    day = factory.LazyFunction(lambda: timezone.now().date())
    clicks = 1

    class Meta:
        model = ClickDaily


class StoreFactory(DjangoModelFactory):
    """A shop on the REST API, serving every programme unless given `programmes`."""

    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    kind = Store.Kind.API

    class Meta:
        model = Store
        skip_postgeneration_save = True

    @factory.post_generation
    def programmes(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.programmes.set(extracted)


class ApiKeyFactory(DjangoModelFactory):
    """A key of its own store. Its secret is unknown: for a usable token, use
    `referrals.api.keys.api_key_create(name=..., store=...)`."""

    name = factory.Sequence(lambda n: f"Key {n}")
    prefix = factory.Sequence(lambda n: f"k{n:07d}")
    secret_hash = "0" * 64
    store = factory.SubFactory(StoreFactory)

    class Meta:
        model = ApiKey


class OrderFactory(DjangoModelFactory):
    """A stored order, not referred unless given a rep_code/advocate. Sales that should earn go
    through `referrals.services.orders.order_ingest` instead."""

    source = Order.Source.API
    store = factory.LazyAttribute(lambda o: store_built_in(o.source))
    external_id = factory.Sequence(lambda n: f"order-{n}")
    currency = "EUR"
    gross_amount = 10000
    discount_amount = 0
    net_amount = factory.LazyAttribute(lambda o: o.gross_amount - o.discount_amount)
    placed_at = factory.LazyFunction(timezone.now)

    class Meta:
        model = Order


class FraudSignalFactory(DjangoModelFactory):
    kind = FraudSignal.Kind.SELF_REFERRAL
    order = factory.SubFactory(OrderFactory)
    advocate = factory.SelfAttribute("order.advocate")
    detail = "The advocate referred their own order."

    class Meta:
        model = FraudSignal


class PayoutBatchFactory(DjangoModelFactory):
    programme = factory.SubFactory(ProgrammeFactory)
    currency = factory.SelfAttribute("programme.currency")
    status = PayoutBatch.Status.EXECUTING

    class Meta:
        model = PayoutBatch


class PayoutFactory(DjangoModelFactory):
    """A payout row as the payout services leave it (for pages that show payouts; no ledger
    entries are written)."""

    advocate = factory.SubFactory(AdvocateFactory)
    batch = factory.SubFactory(
        PayoutBatchFactory, programme=factory.SelfAttribute("..advocate.programme")
    )
    currency = factory.SelfAttribute("advocate.programme.currency")
    amount = 1000
    status = Payout.Status.PENDING

    class Meta:
        model = Payout


def received_ago(commission, elapsed):
    """`commission` as if its order had reached us `elapsed` ago: holds count from receipt, not
    from the shop's placed_at, so a test that needs an ended hold moves the hold itself."""
    if commission is not None and elapsed > timedelta(0):
        Commission.objects.filter(pk=commission.pk).update(hold_until=F("hold_until") - elapsed)
        commission.refresh_from_db()
    return commission


def sale(rep_code, external_id: str, gross: int, placed_at=None, *, discount: int = 0):
    """A sale made with `rep_code` in its programme's currency, recorded as the API records one
    (so it earns a pending commission and its ledger entry); each external id is its own
    shopper. With `placed_at` in the past the order is taken as received then too (its hold has
    run as long)."""
    result = order_ingest(
        source="api",
        external_id=external_id,
        currency=rep_code.advocate.programme.currency,
        gross_amount=gross,
        discount_amount=discount,
        code=rep_code.code,
        shopper_email=f"{external_id}@shopper.example",
        placed_at=placed_at,
    )
    if placed_at is not None:
        received_ago(result.commission, timezone.now() - placed_at)
    return result


def credited(advocate, amount: int, currency: str | None = None):
    """An advocate with `amount` (minor units) more in their payable balance: a manual
    adjustment, written through the ledger service as a manager's correction would be."""
    ledger_write(
        advocate_id=advocate.pk,
        currency=currency or advocate.programme.currency,
        kind="adjustment",
        amount=amount,
        reference=f"test-credit:{advocate.pk}:{amount}",
        memo="Test credit",
    )
    return advocate


class CommissionFactory(DjangoModelFactory):
    """A stored commission row (pending, EUR), without its ledger entry: for pages and
    sentences that show commissions. Money rules go through the services instead."""

    advocate = factory.SubFactory(AdvocateFactory)
    order = factory.SubFactory(OrderFactory)
    currency = "EUR"
    base_amount = factory.LazyAttribute(lambda c: c.order.net_amount)
    amount = 1000
    status = Commission.Status.PENDING
    hold_until = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))

    class Meta:
        model = Commission
