"""What a code is worth to a shopper at checkout, before they pay."""

from dataclasses import dataclass

from advocacy.models import Programme, RepCode, RewardKind
from kernel.errors import ServiceError
from kernel.money import MAX_AMOUNT, format_money, percent_of
from referrals.hashing import email_hash
from referrals.models import DiscountRedemption, Order
from referrals.services.codes import repcode_find, repcode_unusable_reason


@dataclass(frozen=True)
class Quote:
    rep_code: RepCode
    programme: Programme
    currency: str
    gross_amount: int
    discount_amount: int

    @property
    def net_amount(self) -> int:
        return self.gross_amount - self.discount_amount

    @property
    def advocate_first_name(self) -> str:
        return self.rep_code.advocate.user.display_name


def shopper_discount(programme: Programme, gross_amount: int) -> int:
    """The programme's shopper reward on an order of `gross_amount` (before any minimum check).

    Never more than the order itself: a fixed €10 off a €6 order is €6 off.
    """
    if programme.shopper_reward_kind == RewardKind.PERCENT:
        amount = percent_of(gross_amount, programme.shopper_reward_percent)
    else:
        amount = programme.shopper_reward_amount
    return min(amount, gross_amount)


def discount_quote(
    *, code: str, gross_amount: int, currency: str, shopper_email: str = ""
) -> Quote:
    """The discount `code` gives on this cart, or a ServiceError saying why it gives none."""
    rep = repcode_find(code)
    reason = repcode_unusable_reason(rep)
    if reason:
        raise ServiceError(*reason, field="code")
    programme = rep.advocate.programme
    if (
        isinstance(gross_amount, bool)
        or not isinstance(gross_amount, int)
        or not 0 < gross_amount <= MAX_AMOUNT
    ):
        raise ServiceError("amount_invalid", "The order amount must be a positive whole number.")
    if currency != programme.currency:
        raise ServiceError(
            "currency_mismatch",
            f"This code is for orders in {programme.currency}, not {currency}.",
            field="code",
        )
    if gross_amount < programme.shopper_min_order:
        minimum = format_money(programme.shopper_min_order, programme.currency)
        raise ServiceError(
            "below_minimum", f"This code applies to orders of {minimum} or more.", field="code"
        )
    shopper = email_hash(shopper_email)
    if (
        shopper
        and programme.shopper_first_order_only
        and (Order.objects.filter(programme=programme, shopper_email_hash=shopper).exists())
    ):
        raise ServiceError("not_first_order", "This offer is for a first order only.", field="code")
    if (
        shopper
        and programme.shopper_one_use
        and (DiscountRedemption.objects.filter(programme=programme, shopper_key=shopper).exists())
    ):
        raise ServiceError(
            "offer_already_used", "You have already used this programme's offer.", field="code"
        )
    return Quote(
        rep_code=rep,
        programme=programme,
        currency=currency,
        gross_amount=gross_amount,
        discount_amount=shopper_discount(programme, gross_amount),
    )
