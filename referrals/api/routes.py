"""The merchant REST API (django-ninja), mounted at /api/v1/.

Any store can run a programme through it: check a code at checkout, report orders and refunds,
read an advocate's numbers. Requests carry a merchant API key as a Bearer token. Every error is
JSON of one shape: {"error": {"code": ..., "message": ..., "fields": {...}}}. Handlers are thin:
authenticate, check the key's scope, call one service or selector, shape the answer.

A key belongs to a store: it sees that store's orders only, and acts for its programmes only
(`api_key_scope`). Another store's order, or a code, click or advocate of another programme, is
answered exactly as an unknown one (same status, same body), so no answer tells a key what
exists elsewhere.
"""

import re

from django.http import HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from advocacy.models import Advocate
from advocacy.services import customers_upsert
from kernel.errors import ServiceError
from referrals import ratelimit
from referrals.api.auth import ApiKeyAuth, CodeLookupAuth
from referrals.api.docs import docs_gate
from referrals.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from referrals.api.idempotency import idempotency_claim
from referrals.api.keys import (
    api_key_allows,
    api_key_scope,
)
from referrals.api.schemas import (
    CodeOut,
    CustomersIn,
    CustomersOut,
    ErrorOut,
    OrderIn,
    OrderOut,
    RefundIn,
    RefundOut,
    StatsOut,
)
from referrals.links.cache import card_load
from referrals.links.selectors import link_referral_for_visitor
from referrals.models import Order
from referrals.selectors import advocate_balance, advocate_stats
from referrals.services.discounts import discount_quote
from referrals.services.orders import order_ingest, order_warnings
from referrals.services.refunds import refund_record

# ----------------------------------------------------------------------------------- errors


# Service error codes that mean "this doesn't exist" rather than "this was refused".
_NOT_FOUND = {"code_unknown", "code_inactive", "order_unknown", "advocate_unknown"}
# ... and those that mean "this conflicts with an earlier request".
_CONFLICT = {"idempotency_key_reused", "refund_id_reused"}


def _error(api, request, status, code, message, fields=None, headers=None):
    response = api.create_response(
        request,
        {"error": {"code": code, "message": message, "fields": fields or {}}},
        status=status,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# Every operation may answer with these; the body is always ErrorOut.
ERRORS = {status: ErrorOut for status in (400, 401, 403, 404, 409, 422, 429)}


api = NinjaAPI(
    title="Streetteam API",
    version="1",
    description=(
        "Run a referral programme from any store: validate rep codes at checkout, record "
        "orders and refunds (idempotently), and read advocates' numbers. Authenticate with "
        "`Authorization: Bearer st_…` (keys are created in the admin or with "
        "`manage.py create_api_key`). Amounts are integers in the currency's minor unit."
    ),
    urls_namespace="api-v1",
    docs_url="/docs",
    docs_decorator=docs_gate,  # Swagger UI only where STREETTEAM_API_DOCS is on
    openapi_url="/openapi.json",
    auth=ApiKeyAuth(),
)


@api.exception_handler(ServiceError)
def _service_error(request, exc: ServiceError):
    status = 404 if exc.code in _NOT_FOUND else 409 if exc.code in _CONFLICT else 422
    fields = {exc.field: [exc.message]} if exc.field else {}
    return _error(api, request, status, exc.code, exc.message, fields)


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [
            str(part)
            for part in err.get("loc", [])
            if part not in ("body", "query", "path", "payload")
        ]
        fields.setdefault(".".join(loc) or "request", []).append(err.get("msg", "Invalid value."))
    return _error(api, request, 422, "invalid_request", "Some fields are missing or wrong.", fields)


@api.exception_handler(AuthenticationError)
def _auth_error(request, exc):
    return _error(
        api, request, 401, "unauthorized", "A valid API key is needed (Authorization: Bearer …)."
    )


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    if exc.status_code == 400:
        return _error(api, request, 400, "bad_request", "The request body is not valid JSON.")
    return _error(api, request, exc.status_code, "http_error", str(exc))


# ------------------------------------------------------------------------------------ codes


# The cart a lookup may price. Read from the query string by `_cart_query`, not declared as ninja
# parameters: ninja builds and validates a pydantic model of them on every call, about 70 µs of
# this hot path's CPU (bench/README.md). Documented here; bad values get the usual 422 body.
_CART_PARAMETERS = [
    {
        "in": "query",
        "name": "amount",
        "required": False,
        "schema": {"type": "integer"},
        "description": "the cart's goods total in minor units, to price the discount",
    },
    {
        "in": "query",
        "name": "currency",
        "required": False,
        "schema": {"type": "string"},
        "description": "ISO 4217; default the programme's",
    },
    {
        "in": "query",
        "name": "email",
        "required": False,
        "schema": {"type": "string"},
        "description": "the shopper's, for per-shopper rules (their own code, first order)",
    },
]
_INTEGER = re.compile(r"^[+-]?[0-9]{1,18}$")


def _cart_query(request) -> tuple[int | None, str | None, str | None]:
    """(amount, currency, email) from the query string, each None when absent."""
    query = request.GET
    amount = query.get("amount")
    if amount is not None:
        if not _INTEGER.match(amount.strip()):
            raise NinjaValidationError(
                [{"loc": ["query", "amount"], "msg": "Input should be a valid integer."}]
            )
        amount = int(amount)
    return amount, query.get("currency"), query.get("email")


@api.get(
    "/codes/{code}",
    response={200: CodeOut, **ERRORS},
    summary="Check a code and price a cart",
    auth=CodeLookupAuth(),
    openapi_extra={"parameters": _CART_PARAMETERS},
)
def code_lookup(request, code: str):
    """Is this code valid, who referred, and — given `amount` and `currency` — what discount
    applies to this cart. Failed lookups count towards a per-IP limit (429 with Retry-After)."""
    amount, currency, email = _cart_query(request)
    ip = ratelimit.client_ip(request)
    # Read by CodeLookupAuth in its round trip: with a warm cache, no other cache read and no
    # query.
    lookup = request.code_lookup
    wait = ratelimit.wait_for("code_lookup", lookup.extras.get(request.code_lookup_limit_key))
    if wait:
        return _error(
            api,
            request,
            429,
            "rate_limited",
            "Too many failed lookups; try later.",
            headers={"Retry-After": str(wait)},
        )
    card = card_load(lookup)
    if card is None or not card.is_active:
        ratelimit.record_miss("code_lookup", ip)
        raise ServiceError("code_unknown", "No active code by that name.", field="code")
    if not api_key_allows(request.auth, card.programme_id):
        ratelimit.record_miss("code_lookup", ip)
        raise ServiceError("code_unknown", "No active code by that name.", field="code")
    if card.unusable:
        raise ServiceError(*card.unusable, field="code")
    discount_amount = net = None
    if amount is not None or currency is not None:
        quote = discount_quote(
            code=card.code,
            gross_amount=amount if amount is not None else 0,
            currency=currency.upper() if currency else card.currency,
            shopper_email=email or "",
        )
        discount_amount, net = quote.discount_amount, quote.net_amount
    # Rendered directly: every value comes typed from the card, so CodeOut (still the documented
    # answer) would only re-validate what this builds, on the API's hottest path.
    body = {
        "valid": True,
        "code": card.code,
        "programme": card.programme_slug,
        "currency": card.currency,
        "advocate_first_name": card.advocate_first_name,
        "discount": {
            "kind": card.reward_kind,
            "percent": f"{card.reward_percent.normalize():f}"
            if card.reward_kind == "percent"
            else None,
            "amount": card.reward_amount if card.reward_kind == "fixed" else None,
            "minimum_order": card.min_order,
        },
        "discount_amount": discount_amount,
        "net_amount": net,
    }
    return api.create_response(request, body, status=200)


_code_lookup_auth = CodeLookupAuth()


@csrf_exempt
def code_lookup_route(request, code: str):
    """GET /api/v1/codes/{code} as config.urls routes it, ahead of ninja's own URL for it: the
    operation above with its auth and the API's exception handlers, without ninja's per-call
    dispatch (a temporal response, a pydantic model of the path, async checks; its cost is in
    bench/README.md). The operation stays declared above, so the OpenAPI document and the
    schema tests still describe exactly this."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"], content=b"Method not allowed")  # as ninja's
    try:
        auth = _code_lookup_auth(request)
        if not auth:
            raise AuthenticationError()
        request.auth = auth
        return code_lookup(request, code)
    except Exception as exc:  # noqa: BLE001 (each goes to the API's handler; others re-raise)
        return api.on_exception(request, exc)


# ----------------------------------------------------------------------------------- orders


def _order_out(result) -> dict:
    order, commission = result.order, result.commission
    return {
        "external_id": order.external_id,
        "created": result.created,
        "attributed": order.rep_code_id is not None,
        "attribution": order.attribution,
        "code": order.rep_code.code if order.rep_code_id else None,
        "advocate_id": order.advocate_id,
        "currency": order.currency,
        "gross_amount": order.gross_amount,
        "discount_amount": order.discount_amount,
        "net_amount": order.net_amount,
        "commission_amount": commission.amount if commission else None,
        "commission_status": commission.status if commission else None,
        "notes": result.notes,
        "rejected_code": order.rejected_code or None,
        "warnings": order_warnings(order),
    }


@api.post(
    "/orders",
    response={200: OrderOut, 201: OrderOut, **ERRORS},
    summary="Record an order (idempotent)",
)
def order_create(request, payload: OrderIn):
    """Record a sale once: repeating the same `external_id` (or the same `Idempotency-Key`
    header) returns the first result with 200 instead of 201. Order ids are the key's store's
    own: another store's order with the same id is neither answered nor in the way, and a code
    or click of a programme outside the key's counts as unknown. The answer says how the order was
    attributed, the discount and the commission it earned (or why it earned none). A paid order
    is a fact and a code a claim: an unknown `code` doesn't refuse the order; it is recorded
    (attributed by the visitor's click or the shopper's account, else unattributed) with 201,
    `rejected_code` and a warning. The programme's shopper offer is checked here too: a
    discount under a one-use offer used before by this shopper is 422 `offer_already_used`, and
    under a first-order offer by a shopper who ordered before, 422 `not_first_order`; a
    discount under a one-use offer with neither `customer_email` nor `customer_id` can't be
    checked, so the order is recorded without commission and flagged (see `notes`)."""
    claim = idempotency_claim(
        api_key=request.auth,
        key=request.headers.get(IDEMPOTENCY_HEADER, ""),
        payload=payload.dict(),
    )
    if claim.replay is not None:
        return Status(200, claim.replay)
    link = link_referral_for_visitor(payload.visitor_id) if payload.visitor_id else None
    # A code or click of a programme outside the key's scope counts as unknown (order_ingest).
    result = order_ingest(
        source=Order.Source.API,
        store=request.auth.store,
        programmes=api_key_scope(request.auth),
        external_id=payload.external_id,
        currency=payload.currency.upper(),
        gross_amount=payload.gross_amount,
        discount_amount=payload.discount_amount,
        tax_amount=payload.tax_amount,
        shipping_amount=payload.shipping_amount,
        code=payload.code or "",
        link=link,
        shopper_email=payload.customer_email or "",
        shopper_customer_id=payload.customer_id or "",
        placed_at=payload.placed_at,
    )
    out = _order_out(result)
    status = 201 if result.created else 200
    claim.record(status_code=status, response=out)
    return Status(status, out)


@api.post(
    "/orders/{external_id}/refunds",
    response={
        200: RefundOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    summary="Record a refund (idempotent by refund id)",
)
def refund_create(request, external_id: str, payload: RefundIn):
    """Money back to the shopper, on an order of the key's store (another store's is 404 as an
    unknown one); the advocate's commission is reversed in proportion to all
    refunded so far. The same `refund_id` again with the same amount answers the first
    recording; with another amount it is 409 `refund_id_reused`. A `currency` other than the
    order's (any letter case accepted) is 422 `refund_currency_mismatch`."""
    order = Order.objects.filter(store_id=request.auth.store_id, external_id=external_id).first()
    # Another store's order, or one credited to a programme outside the key's scope, is unknown.
    if order is None or (
        order.programme_id is not None and not api_key_allows(request.auth, order.programme_id)
    ):
        raise ServiceError("order_unknown", "No order with that id was recorded through the API.")
    refund = refund_record(
        order=order,
        external_id=payload.refund_id,
        amount=payload.amount,
        currency=payload.currency or "",
    )
    order.refresh_from_db()
    return {
        "refund_id": refund.external_id,
        "order_external_id": order.external_id,
        "amount": refund.amount,
        "order_status": order.status,
        "refunded_total": sum(order.refunds.values_list("amount", flat=True)),
    }


# ------------------------------------------------------------------------------- advocates


@api.get(
    "/advocates/{advocate_id}/stats",
    response={200: StatsOut, **ERRORS},
    summary="An advocate's numbers",
)
def advocate_stats_read(request, advocate_id: int):
    advocate = Advocate.objects.select_related("programme").filter(pk=advocate_id).first()
    if advocate is None or not api_key_allows(request.auth, advocate.programme_id):
        raise ServiceError("advocate_unknown", "No advocate with that id for this key.")
    stats, balance = advocate_stats(advocate), advocate_balance(advocate)
    return {
        "advocate_id": advocate.pk,
        "programme": advocate.programme.slug,
        "currency": stats.currency,
        "clicks": stats.clicks,
        "orders": stats.orders,
        "held": balance.held,
        "payable": balance.payable,
        "paid_out": balance.paid_out,
        "in_flight": balance.in_flight,
        "reversed": balance.reversed,
    }


# ------------------------------------------------------------------------------- customers


@api.post(
    "/customers",
    response={200: CustomersOut, **ERRORS},
    summary="Import customers in bulk (for finding likely advocates)",
)
def customers_import(request, payload: CustomersIn):
    """Upsert up to 1,000 customers by email with their order history. A bad row rejects the
    whole batch, naming the row. Customers are one row per email shared by every programme (an
    import from one shop updates what another sent), so this needs a key that acts for all
    programmes, in a store that does too (`api_key_scope` is None)."""
    if api_key_scope(request.auth) is not None:
        return _error(
            api,
            request,
            403,
            "forbidden",
            "Importing customers needs a key that acts for all programmes, in a store that does "
            "too: customers are shared by every programme.",
        )
    result = customers_upsert(rows=[c.dict() for c in payload.customers], source="api")
    return result
