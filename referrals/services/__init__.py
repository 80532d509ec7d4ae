"""Writes for referrals, one module per sub-domain.

`orders.order_ingest` is the one door every integration (sandbox, Stripe, API) uses to record a
sale; `discounts.discount_quote` tells a checkout what a code is worth before paying.
"""
