"""The API's request and response bodies, as the OpenAPI document shows them."""

from datetime import datetime

from ninja import Field, Schema
from pydantic import StrictInt

from advocacy.services import CUSTOMER_BATCH_LIMIT
from kernel.money import MAX_AMOUNT
from referrals.links.cookies import SIGNED_VISITOR_ID_MAX_LENGTH


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


class ErrorOut(Schema):
    error: ErrorBody


class DiscountOut(Schema):
    kind: str = Field(description="percent or fixed")
    percent: str | None = Field(None, description="e.g. '20' for 20% off")
    amount: int | None = Field(None, description="fixed discount in minor units")
    minimum_order: int


class CodeOut(Schema):
    valid: bool
    code: str
    programme: str
    currency: str
    advocate_first_name: str
    discount: DiscountOut
    discount_amount: int | None = Field(None, description="for the amount asked about")
    net_amount: int | None = None


class OrderIn(Schema):
    external_id: str = Field(..., min_length=1, max_length=255, description="your order id")
    currency: str = Field(
        ..., min_length=3, max_length=3, description="ISO 4217 in any letter case, e.g. EUR"
    )
    gross_amount: StrictInt = Field(
        ..., gt=0, le=MAX_AMOUNT, description="goods before discount, minor units"
    )
    discount_amount: StrictInt = Field(0, ge=0, le=MAX_AMOUNT)
    tax_amount: StrictInt = Field(0, ge=0, le=MAX_AMOUNT)
    shipping_amount: StrictInt = Field(0, ge=0, le=MAX_AMOUNT)
    code: str | None = Field(
        None,
        max_length=32,
        description="code typed at checkout: a claim. One we don't recognise doesn't refuse the "
        "order: it is recorded, attributed by what else holds, and answered with a warning",
    )
    visitor_id: str | None = Field(
        None,
        max_length=SIGNED_VISITOR_ID_MAX_LENGTH,
        description="the st_vid value from a referral link visit, as it came (`ID.SIGNATURE`). "
        "Only an id Streetteam signed counts: any other attributes nothing, as an unknown one",
    )
    customer_email: str | None = Field(
        None,
        max_length=254,
        description="the shopper's; with customer_id, who the shopper is for one-use and "
        "first-order offers and self-referral checks. A discounted order with neither, under a "
        "one-use offer, is recorded without commission and flagged for review",
    )
    customer_id: str | None = Field(None, max_length=255, description="your (or Stripe's) id")
    placed_at: datetime | None = Field(
        None,
        description="with a time zone; default now. Not more than 5 minutes ahead of our clock "
        "(422). A visitor's click counts for an order stamped up to 5 minutes before it (clock "
        "skew between your server and ours)",
    )


class OrderOut(Schema):
    external_id: str
    created: bool
    attributed: bool
    attribution: str
    code: str | None
    advocate_id: int | None
    currency: str
    gross_amount: int
    discount_amount: int
    net_amount: int
    commission_amount: int | None
    commission_status: str | None
    notes: list[str]
    rejected_code: str | None = Field(
        None, description="the `code` sent that we don't recognise (the order is still recorded)"
    )
    warnings: list[str] = Field([], description="what to know about how the order was recorded")


class RefundIn(Schema):
    refund_id: str = Field(..., min_length=1, max_length=255)
    amount: StrictInt = Field(..., gt=0, le=MAX_AMOUNT, description="minor units refunded")
    currency: str | None = Field(
        None,
        min_length=3,
        max_length=3,
        description="ISO 4217, any letter case; when given, must be the order's",
    )


class RefundOut(Schema):
    refund_id: str
    order_external_id: str
    amount: int
    order_status: str
    refunded_total: int


class StatsOut(Schema):
    advocate_id: int
    programme: str
    currency: str
    clicks: int
    orders: int
    held: int = Field(description="commissions still in their hold (or frozen by a dispute)")
    payable: int = Field(description="approved, waiting for the next payout (may be negative)")
    paid_out: int
    in_flight: int = Field(description="in a payout that was built but not sent yet")
    reversed: int = Field(description="taken back after refunds and disputes")


class CustomerIn(Schema):
    email: str = Field(..., max_length=254)
    currency: str = Field(..., min_length=3, max_length=3)
    name: str | None = Field(None, max_length=150)
    external_id: str | None = Field(None, max_length=255)
    order_count: int = Field(0, ge=0, le=10**9)
    total_spent: int = Field(0, ge=0, le=MAX_AMOUNT, description="minor units")
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None


class CustomersIn(Schema):
    customers: list[CustomerIn] = Field(..., min_length=1, max_length=CUSTOMER_BATCH_LIMIT)


class CustomersOut(Schema):
    created: int
    updated: int
