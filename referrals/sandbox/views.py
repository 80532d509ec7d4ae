"""HTTP for referrals: the /r/<CODE> redirect and the sandbox storefront. Thin: parse, call a
service or selector, render."""

import uuid

from django.core import signing
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from advocacy.models import Programme
from kernel.errors import ServiceError
from referrals.conf import app_settings
from referrals.links.cookies import referral_from_request
from referrals.models import Order
from referrals.sandbox import products as sandbox
from referrals.sandbox.forms import CheckoutForm
from referrals.services.discounts import discount_quote
from referrals.services.orders import order_ingest
from referrals.services.stores import store_built_in

_CHECKOUT_SALT = "streetteam.sandbox-checkout"


def _require_sandbox():
    if not app_settings.SANDBOX_STORE:
        raise Http404("The sandbox store is off.")


def shop(request):
    _require_sandbox()
    link = referral_from_request(request)
    return render(
        request,
        "referrals/shop.html",
        {
            "products": sandbox.PRODUCTS,
            "referral_code": link.code if link else "",
            "currency": _sandbox_currency(),
        },
    )


@require_http_methods(["GET", "POST"])
def checkout(request):
    """Step 1 (GET/POST without token): the form and, when valid, the price with the discount.
    Step 2 (POST with token): pay, through the same ingestion service every integration uses."""
    _require_sandbox()
    link = referral_from_request(request)
    if request.method == "GET":
        initial = {"product": request.GET.get("product"), "code": link.code if link else ""}
        return render(request, "referrals/checkout.html", {"form": CheckoutForm(initial=initial)})

    form = CheckoutForm(request.POST)
    context = {"form": form}
    if not form.is_valid():
        return render(request, "referrals/checkout.html", context, status=400)
    data = form.cleaned_data
    paid = _already_paid(data.get("checkout_token") or "")
    if paid is not None:
        # A double submit or a reload of the pay step: show the same receipt, don't re-quote
        # (the one-use offer is spent by the first submit) and don't pay twice.
        return HttpResponseRedirect(reverse("sandbox_thanks") + "?" + f"order={paid.external_id}")
    item = sandbox.product(data["product"])
    gross = item.price * data["quantity"]
    currency = _sandbox_currency()
    quote = None
    if data["code"]:
        try:
            quote = discount_quote(
                code=data["code"],
                gross_amount=gross,
                currency=currency,
                shopper_email=data["email"],
            )
        except ServiceError as exc:
            form.add_error("code", exc.message)
            return render(request, "referrals/checkout.html", context, status=400)
    discount = quote.discount_amount if quote else 0
    shipping = sandbox.shipping_for(gross - discount)
    context.update(
        item=item,
        quantity=data["quantity"],
        currency=currency,
        gross=gross,
        discount=discount,
        shipping=shipping,
        total=gross - discount + shipping,
        quote=quote,
    )

    token = data.get("checkout_token") or ""
    if not token:
        # Show the confirmation step; the token becomes the order's idempotent external id.
        form.data = form.data.copy()
        form.data["checkout_token"] = signing.dumps(uuid.uuid4().hex, salt=_CHECKOUT_SALT)
        context["confirm"] = True
        return render(request, "referrals/checkout.html", context)
    try:
        external_id = signing.loads(token, salt=_CHECKOUT_SALT, max_age=60 * 60)
    except signing.BadSignature:
        form.add_error(None, "This checkout has expired. Please review your order again.")
        return render(request, "referrals/checkout.html", context, status=400)
    try:
        result = order_ingest(
            source="sandbox",
            store=store_built_in("sandbox"),
            external_id=f"sandbox-{external_id}",
            currency=currency,
            gross_amount=gross,
            discount_amount=discount,
            shipping_amount=shipping,
            code=quote.rep_code.code if quote else "",
            link=None if quote else link,
            shopper_email=data["email"],
            shopper_user=request.user if request.user.is_authenticated else None,
        )
    except ServiceError as exc:
        form.add_error("code" if exc.field == "code" else None, exc.message)
        return render(request, "referrals/checkout.html", context, status=400)
    return HttpResponseRedirect(
        reverse("sandbox_thanks") + "?" + f"order={result.order.external_id}"
    )


def thanks(request):
    _require_sandbox()
    order = (
        Order.objects.filter(
            store=store_built_in("sandbox"), external_id=request.GET.get("order", "")
        )
        .select_related("rep_code__advocate__user", "programme")
        .first()
    )
    if order is None:
        raise Http404("No such order.")
    return render(request, "referrals/thanks.html", {"order": order})


def _already_paid(token: str):
    """The sandbox order a confirmed checkout token already paid for, if any."""
    if not token:
        return None
    try:
        external_id = signing.loads(token, salt=_CHECKOUT_SALT, max_age=60 * 60)
    except signing.BadSignature:
        return None
    return Order.objects.filter(
        store=store_built_in("sandbox"), external_id=f"sandbox-{external_id}"
    ).first()


def _sandbox_currency() -> str:
    programme = Programme.objects.filter(status=Programme.Status.ACTIVE).order_by("pk").first()
    return programme.currency if programme else "EUR"
