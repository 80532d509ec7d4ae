"""A small fake of Stripe's HTTP API for tests, served on a free loopback port from a thread.

It follows Stripe's documented shapes (https://docs.stripe.com/api) for what the project calls,
so the real `stripe` client talks to it unchanged through `STRIPE_API_BASE`:

- requests are form-encoded (`metadata[payout_id]=7`), authenticated with `Bearer sk_...`;
- responses are JSON objects with `id`, `object`, `livemode`, `created`...; errors are
  `{"error": {"type", "message", "code", "param", "doc_url"}}` with Stripe's status codes;
- idempotency (https://docs.stripe.com/api/idempotent_requests): the first response to a POST
  with an `Idempotency-Key` (status and body, errors included) is saved and replayed for the
  same key, with an `Idempotent-Replayed: true` header; the same key with different parameters
  is a 400 `idempotency_error`. Requests that fail parameter validation are not saved.
  Stripe answers a request that arrives while another with the same key is still running with
  a 409 (which the client retries); here requests are handled one at a time, so that never
  happens and the replay is immediate.

Every request is recorded in `server.requests`, so tests count what reached "Stripe".

Organised by resource: each `Resource` subclass holds its routes (`@route`) and the objects it
created (`server.store[<object name>]`). Add a resource by subclassing and listing it in
`RESOURCES`.

Test conventions:
- Transfers: a `destination` starting with `acct_bad` is refused (no such destination).
- Connected accounts start with nothing submitted; `account_set_state` plays the advocate's
  onboarding (and records the account.updated event). Events and PaymentIntents are added by
  tests (`add_event`, `add_payment_intent`) and listed as Stripe lists them; so are refunds,
  invoices (their discounts expanded on request), discounts and invoice payments
  (`add_object`, with objects tests/fixtures/stripe builds from Stripe's examples).
- Coupons, promotion codes and Checkout Sessions: promotion codes take the API version the
  installed client pins (`promotion[type]=coupon&promotion[coupon]=...`, see `PromotionCodes`);
  sessions stay open until `checkout_session_complete` (the shopper pays).
- `fail_next(method, path)` makes Stripe answer 500 before it does anything (outage tests).
"""

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

API_VERSION = "2025-03-31.basil"


# ------------------------------------------------------------------------------ errors, encoding
class StripeError(Exception):
    """Answered as Stripe's error JSON. `saved`: part of the idempotent result (the endpoint ran),
    as opposed to a parameter validation failure, which is not saved."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # Stripe's field name
        code: str | None = None,
        param: str | None = None,
        saved: bool = True,
    ):
        super().__init__(message)
        self.status, self.message, self.type = status, message, type
        self.code, self.param, self.saved = code, param, saved

    def body(self) -> dict:
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def missing(param: str) -> StripeError:
    return StripeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param, saved=False
    )


def invalid_integer(param: str, value) -> StripeError:
    return StripeError(
        400,
        f"Invalid integer: {value}",
        code="parameter_invalid_integer",
        param=param,
        saved=False,
    )


def decode_form(body: str) -> dict:
    """Stripe's form encoding back to nested data: `a[b][c]=1` -> {"a": {"b": {"c": "1"}}},
    `a[0]=x&a[1]=y` -> {"a": ["x", "y"]}. Values stay strings, as Stripe receives them."""
    out: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        head, _, rest = key.partition("[")
        parts = [head, *re.findall(r"([^\[\]]*)\]", "[" + rest)] if rest else [head]
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(out)


def _lists(value):
    if isinstance(value, dict):
        value = {k: _lists(v) for k, v in value.items()}
        if value and all(k.isdigit() for k in value):
            return [value[k] for k in sorted(value, key=int)]
    return value


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def as_int(params: dict, name: str, *, required: bool = True) -> int | None:
    if name not in params or params[name] == "":
        if required:
            raise missing(name)
        return None
    try:
        return int(params[name])
    except (TypeError, ValueError):
        raise invalid_integer(name, params[name]) from None


# --------------------------------------------------------------------------------- resources
def route(method: str, pattern: str):
    """Mark a Resource method as the handler of `method` on `/v1/<pattern>` (a regex; named
    groups become keyword arguments)."""

    def decorate(handler):
        handler.route = (method, re.compile(rf"^/v1/{pattern}$"))
        return handler

    return decorate


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    params: dict
    status: int = 0
    replayed: bool = False
    response: dict = field(default_factory=dict)

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


class Resource:
    object_name = ""  # Stripe's `object` value, and the key in server.store

    def __init__(self, server: "FakeStripe"):
        self.server = server

    @property
    def objects(self) -> dict[str, dict]:
        return self.server.store.setdefault(self.object_name, {})

    def get(self, object_id: str, *, param: str = "id") -> dict:
        try:
            return self.objects[object_id]
        except KeyError:
            raise StripeError(
                404,
                f"No such {self.object_name}: '{object_id}'",
                code="resource_missing",
                param=param,
            ) from None

    def base(self, prefix: str, **fields) -> dict:
        obj = {
            "id": new_id(prefix),
            "object": self.object_name,
            "created": int(time.time()),
            "livemode": False,
            **fields,
        }
        self.objects[obj["id"]] = obj
        return obj


class Transfers(Resource):
    """https://docs.stripe.com/api/transfers"""

    object_name = "transfer"

    @route("POST", "transfers")
    def create(self, params: dict) -> dict:
        amount = as_int(params, "amount")
        if amount is not None and amount < 1:
            raise StripeError(
                400,
                "This value must be greater than or equal to 1.",
                code="parameter_invalid_integer",
                param="amount",
                saved=False,
            )
        currency = params.get("currency") or ""
        if not currency:
            raise missing("currency")
        destination = params.get("destination") or ""
        if not destination:
            raise missing("destination")
        if destination.startswith("acct_bad"):
            raise StripeError(
                400,
                f"No such destination: '{destination}'",
                code="resource_missing",
                param="destination",
            )
        transfer = self.base(
            "tr",
            amount=amount,
            amount_reversed=0,
            balance_transaction=new_id("txn"),
            currency=currency.lower(),
            description=params.get("description"),
            destination=destination,
            destination_payment=new_id("py"),
            metadata=params.get("metadata") or {},
            reversed=False,
            source_transaction=params.get("source_transaction"),
            source_type="card",
            transfer_group=params.get("transfer_group"),
        )
        transfer["reversals"] = {
            "object": "list",
            "data": [],
            "has_more": False,
            "total_count": 0,
            "url": f"/v1/transfers/{transfer['id']}/reversals",
        }
        return transfer

    @route("GET", r"transfers/(?P<transfer_id>[^/]+)")
    def retrieve(self, params: dict, transfer_id: str) -> dict:
        return self.get(transfer_id, param="id")

    @route("GET", "transfers")
    def list(self, params: dict) -> dict:
        destination = params.get("destination")
        group = params.get("transfer_group")
        return list_page(
            self.objects.values(),
            params,
            "/v1/transfers",
            match=lambda t: (
                (not destination or t["destination"] == destination)
                and (not group or t["transfer_group"] == group)
            ),
        )


def list_page(objects, params: dict, url: str, *, match=None) -> dict:
    """One page of a Stripe list (https://docs.stripe.com/api/pagination): newest first,
    `limit` (1-100, default 10), `starting_after` / `ending_before` an object id, `created`
    as a Unix time or a range (`created[gte]`...), `has_more` when more follow."""
    limit = as_int(params, "limit", required=False) or 10
    if not 1 <= limit <= 100:
        raise StripeError(
            400,
            "This value must be between 1 and 100.",
            code="parameter_invalid_integer",
            param="limit",
            saved=False,
        )
    # Newest first; among objects created in the same second, the later-made one first.
    rows = sorted(reversed(list(objects)), key=lambda o: o["created"], reverse=True)
    created = params.get("created")
    if isinstance(created, dict):
        bounds = {op: as_int(created, op, required=False) for op in ("gt", "gte", "lt", "lte")}
        compare = {
            "gt": lambda a, b: a > b,
            "gte": lambda a, b: a >= b,
            "lt": lambda a, b: a < b,
            "lte": lambda a, b: a <= b,
        }
        for op, bound in bounds.items():
            if bound is not None:
                rows = [o for o in rows if compare[op](o["created"], bound)]
    elif created not in (None, ""):
        exact = as_int(params, "created")
        rows = [o for o in rows if o["created"] == exact]
    if match is not None:
        rows = [o for o in rows if match(o)]
    ids = [o["id"] for o in rows]
    for cursor in ("starting_after", "ending_before"):
        if params.get(cursor) and params[cursor] not in ids:
            raise StripeError(
                400,
                f"Invalid {cursor} value: {params[cursor]}",
                code="resource_missing",
                param=cursor,
                saved=False,
            )
    if params.get("starting_after"):
        rows = rows[ids.index(params["starting_after"]) + 1 :]
        page = rows[:limit]
    elif params.get("ending_before"):
        rows = rows[: ids.index(params["ending_before"])]
        page = rows[-limit:]
    else:
        page = rows[:limit]
    return {"object": "list", "data": page, "has_more": len(rows) > len(page), "url": url}


class Accounts(Resource):
    """https://docs.stripe.com/api/accounts: connected accounts. A new Express account has
    submitted nothing and can't receive payouts; tests move it on with
    `FakeStripe.account_set_state` (what the advocate would do on Stripe's onboarding pages)."""

    object_name = "account"
    NEW_ACCOUNT_DUE = [
        "business_profile.url",
        "external_account",
        "individual.dob.day",
        "individual.first_name",
        "individual.last_name",
        "tos_acceptance.date",
        "tos_acceptance.ip",
    ]

    @route("POST", "accounts")
    def create(self, params: dict) -> dict:
        kind = params.get("type") or ""
        if not kind:
            raise missing("type")
        if kind not in ("express", "standard", "custom"):
            raise StripeError(
                400,
                f"Invalid type: must be one of custom, express, or standard, not {kind!r}.",
                code="parameter_invalid_string",
                param="type",
                saved=False,
            )
        country = (params.get("country") or "US").upper()
        requested = params.get("capabilities") or {}
        return self.base(
            "acct",
            business_profile={"name": None, "url": None},
            business_type=params.get("business_type"),
            capabilities={name: "inactive" for name in requested},
            charges_enabled=False,
            controller={"type": "application", "is_controller": True},
            country=country,
            default_currency="eur" if country not in ("US", "GB") else "usd",
            details_submitted=False,
            email=params.get("email"),
            external_accounts={
                "object": "list",
                "data": [],
                "has_more": False,
                "url": "/v1/accounts/external_accounts",
            },
            future_requirements={"currently_due": [], "eventually_due": [], "past_due": []},
            metadata=params.get("metadata") or {},
            payouts_enabled=False,
            requirements=self.requirements(list(self.NEW_ACCOUNT_DUE)),
            settings={"payouts": {"schedule": {"interval": "daily"}}},
            tos_acceptance={"date": None, "ip": None},
            type=kind,
        )

    @staticmethod
    def requirements(currently_due: list[str], pending: list[str] | None = None) -> dict:
        return {
            "alternatives": [],
            "current_deadline": None,
            "currently_due": currently_due,
            "disabled_reason": "requirements.past_due" if currently_due else None,
            "errors": [],
            "eventually_due": list(currently_due),
            "past_due": list(currently_due),
            "pending_verification": pending or [],
        }

    @route("GET", r"accounts/(?P<account_id>acct_[^/]+)")
    def retrieve(self, params: dict, account_id: str) -> dict:
        return self.get(account_id, param="account")


class AccountLinks(Resource):
    """https://docs.stripe.com/api/account_links: single-use, expiring onboarding URLs (no id,
    not retrievable)."""

    object_name = "account_link"

    @route("POST", "account_links")
    def create(self, params: dict) -> dict:
        for name in ("account", "type"):
            if not params.get(name):
                raise missing(name)
        if params["type"] not in ("account_onboarding", "account_update"):
            raise StripeError(
                400,
                "Invalid type: must be one of account_onboarding or account_update",
                code="parameter_invalid_string",
                param="type",
                saved=False,
            )
        if params["type"] == "account_onboarding" and not params.get("return_url"):
            raise missing("return_url")
        accounts = self.server.store.get("account", {})
        if params["account"] not in accounts:
            raise StripeError(
                400,
                f"No such account: '{params['account']}'",
                code="resource_missing",
                param="account",
            )
        created = int(time.time())
        link = {
            "object": "account_link",
            "created": created,
            "expires_at": created + 300,
            "url": f"https://connect.stripe.com/setup/e/{params['account']}/{secrets.token_hex(8)}",
        }
        self.server.account_links.append({**link, **params})
        return link


class Events(Resource):
    """https://docs.stripe.com/api/events/list: events tests add with `FakeStripe.add_event`,
    listed newest first, filtered by `type` (one, `*` wildcards allowed) or `types[]`."""

    object_name = "event"

    @route("GET", "events")
    def list(self, params: dict) -> dict:
        types = params.get("types")
        if isinstance(types, str):
            types = [types]
        one = params.get("type")
        if one and types:
            raise StripeError(
                400,
                "You may only specify one of these parameters: type, types.",
                param="types",
                saved=False,
            )
        pattern = re.compile("^" + re.escape(one).replace(r"\*", ".*") + "$") if one else None

        def match(event: dict) -> bool:
            if pattern is not None:
                return bool(pattern.match(event["type"]))
            return not types or event["type"] in types

        return list_page(self.objects.values(), params, "/v1/events", match=match)

    @route("GET", r"events/(?P<event_id>evt_[^/]+)")
    def retrieve(self, params: dict, event_id: str) -> dict:
        return self.get(event_id)


class PaymentIntents(Resource):
    """https://docs.stripe.com/api/payment_intents/list: payments tests add with
    `FakeStripe.add_payment_intent` (already confirmed), listed newest first."""

    object_name = "payment_intent"

    @route("GET", "payment_intents")
    def list(self, params: dict) -> dict:
        customer = params.get("customer")
        return list_page(
            self.objects.values(),
            params,
            "/v1/payment_intents",
            match=lambda pi: not customer or pi.get("customer") == customer,
        )

    @route("GET", r"payment_intents/(?P<pi_id>pi_[^/]+)")
    def retrieve(self, params: dict, pi_id: str) -> dict:
        return self.get(pi_id, param="intent")


def unknown_parameter(param: str) -> StripeError:
    return StripeError(
        400,
        f"Received unknown parameter: {param}",
        code="parameter_unknown",
        param=param,
        saved=False,
    )


def only_params(params: dict, allowed: set[str]) -> None:
    """Stripe refuses any parameter an endpoint doesn't take (e.g. a coupon's terms on update)."""
    for name in params:
        if name not in allowed:
            raise unknown_parameter(name)


def as_bool(params: dict, name: str, default: bool) -> bool:
    value = params.get(name)
    if value in (None, ""):
        return default
    if value not in ("true", "false"):
        raise StripeError(
            400, f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=name
        )
    return value == "true"


def merge_metadata(current: dict, update) -> dict:
    """Stripe's metadata update: keys are merged, an empty value unsets a key, and an empty
    `metadata` unsets them all."""
    if update == "":
        return {}
    merged = {**current, **(update or {})}
    return {k: v for k, v in merged.items() if v != ""}


def snapshot(obj: dict) -> dict:
    """A copy of a stored object, so later changes don't rewrite answers already given (and
    saved for idempotent replays)."""
    return json.loads(json.dumps(obj))


class Coupons(Resource):
    """https://docs.stripe.com/api/coupons: percent_off (a decimal, answered as a JSON number)
    or amount_off with currency; duration once / repeating (duration_in_months) / forever. Only
    name and metadata can be updated; anything else is an unknown parameter, as at Stripe. A
    deleted coupon is gone (404) and its promotion codes are deactivated."""

    object_name = "coupon"

    @route("POST", "coupons")
    def create(self, params: dict) -> dict:
        only_params(
            params,
            {
                "amount_off",
                "currency",
                "duration",
                "duration_in_months",
                "expand",
                "id",
                "max_redemptions",
                "metadata",
                "name",
                "percent_off",
                "redeem_by",
            },
        )
        percent = params.get("percent_off") or None
        amount = as_int(params, "amount_off", required=False)
        if percent is None and amount is None:
            raise StripeError(
                400,
                "You must specify either percent_off or amount_off.",
                code="parameter_missing",
                param="percent_off",
                saved=False,
            )
        if percent is not None and amount is not None:
            raise StripeError(
                400,
                "You may only specify one of these parameters: amount_off, percent_off.",
                param="amount_off",
                saved=False,
            )
        if percent is not None:
            try:
                percent = Decimal(percent)
            except InvalidOperation:
                percent = None
            if percent is None or not Decimal("0") < percent <= Decimal("100"):
                raise StripeError(
                    400,
                    "percent_off must be greater than 0 and at most 100.",
                    code="parameter_invalid_decimal",
                    param="percent_off",
                    saved=False,
                )
        currency = (params.get("currency") or "").lower() or None
        if amount is not None:
            if amount < 1:
                raise invalid_integer("amount_off", amount)
            if not currency:
                raise missing("currency")
        duration = params.get("duration") or "once"
        if duration not in ("once", "repeating", "forever"):
            raise StripeError(
                400,
                "Invalid duration: must be one of forever, once, or repeating",
                code="parameter_invalid_string",
                param="duration",
                saved=False,
            )
        months = as_int(params, "duration_in_months", required=duration == "repeating")
        name = params.get("name") or None
        if name is not None and len(name) > 40:
            raise StripeError(
                400,
                "Invalid string: name must be at most 40 characters.",
                code="parameter_invalid_string_size",
                param="name",
                saved=False,
            )
        coupon_id = params.get("id") or new_id("cpn")[:12]
        if coupon_id in self.objects:
            raise StripeError(
                400, "Coupon already exists.", code="resource_already_exists", param="id"
            )
        coupon = {
            "id": coupon_id,
            "object": "coupon",
            "amount_off": amount,
            "created": int(time.time()),
            "currency": currency if amount is not None else None,
            "duration": duration,
            "duration_in_months": months,
            "livemode": False,
            "max_redemptions": as_int(params, "max_redemptions", required=False),
            "metadata": params.get("metadata") or {},
            "name": name,
            # Stripe answers a decimal as a JSON number (20.5); it is only ever compared.
            "percent_off": float(percent) if percent is not None else None,
            "redeem_by": as_int(params, "redeem_by", required=False),
            "times_redeemed": 0,
            "valid": True,
        }
        self.objects[coupon_id] = coupon
        return snapshot(coupon)

    @route("GET", r"coupons/(?P<coupon_id>[^/]+)")
    def retrieve(self, params: dict, coupon_id: str) -> dict:
        return snapshot(self.get(coupon_id, param="coupon"))

    @route("POST", r"coupons/(?P<coupon_id>[^/]+)")
    def update(self, params: dict, coupon_id: str) -> dict:
        only_params(params, {"name", "metadata", "expand", "currency_options"})
        coupon = self.get(coupon_id, param="coupon")
        if "name" in params:
            coupon["name"] = params["name"] or None
        if "metadata" in params:
            coupon["metadata"] = merge_metadata(coupon["metadata"], params["metadata"])
        return snapshot(coupon)

    @route("DELETE", r"coupons/(?P<coupon_id>[^/]+)")
    def delete(self, params: dict, coupon_id: str) -> dict:
        self.get(coupon_id, param="coupon")
        del self.objects[coupon_id]
        for promotion_code in self.server.store.get("promotion_code", {}).values():
            if promotion_code["promotion"]["coupon"] == coupon_id:
                promotion_code["active"] = False
        return {"id": coupon_id, "object": "coupon", "deleted": True}

    @route("GET", "coupons")
    def list(self, params: dict) -> dict:
        return list_page(self.objects.values(), params, "/v1/coupons")


class PromotionCodes(Resource):
    """https://docs.stripe.com/api/promotion_codes, in the shape of the API version the
    installed `stripe` client pins (stripe 16: 2026-10-28.endive). Since 2025-09-30.clover a
    promotion code names its coupon as `promotion={"type": "coupon", "coupon": <id>}` (in the
    request and in the object); the older top-level `coupon` parameter is refused as unknown.

    The customer-facing `code` (letters, digits, dashes; generated when left out) is unique,
    case-insensitively, among active promotion codes: creating or reactivating a second active
    one is refused. Only `active`, `metadata` and `restrictions` can be updated. The list
    filters by `active`, `code` (case-insensitive) and `coupon`."""

    object_name = "promotion_code"
    CODE = re.compile(r"^[A-Za-z0-9-]{1,500}$")

    def active_with_code(self, code: str, *, other_than: str = "") -> dict | None:
        return next(
            (
                p
                for p in self.objects.values()
                if p["active"] and p["code"].upper() == code.upper() and p["id"] != other_than
            ),
            None,
        )

    @route("POST", "promotion_codes")
    def create(self, params: dict) -> dict:
        only_params(
            params,
            {
                "active",
                "code",
                "customer",
                "expand",
                "expires_at",
                "max_redemptions",
                "metadata",
                "promotion",
                "restrictions",
            },
        )
        promotion = params.get("promotion")
        if not isinstance(promotion, dict) or not promotion.get("type"):
            raise missing("promotion[type]" if isinstance(promotion, dict) else "promotion")
        if promotion["type"] != "coupon":
            raise StripeError(
                400,
                "Invalid promotion[type]: must be coupon",
                code="parameter_invalid_string",
                param="promotion[type]",
                saved=False,
            )
        if not promotion.get("coupon"):
            raise missing("promotion[coupon]")
        coupon_id = promotion["coupon"]
        if coupon_id not in self.server.store.get("coupon", {}):
            raise StripeError(
                400,
                f"No such coupon: '{coupon_id}'",
                code="resource_missing",
                param="promotion[coupon]",
            )
        code = params.get("code") or secrets.token_hex(4).upper()
        if not self.CODE.match(code):
            raise StripeError(
                400,
                "Invalid code: only letters (a-z, A-Z), digits (0-9) and dashes (-) are allowed.",
                code="parameter_invalid_string",
                param="code",
                saved=False,
            )
        active = as_bool(params, "active", True)
        if active and self.active_with_code(code):
            raise StripeError(
                400,
                f"An active promotion code with `code: {code}` already exists.",
                code="resource_already_exists",
                param="code",
            )
        restrictions = params.get("restrictions") or {}
        promotion_code = self.base(
            "promo",
            active=active,
            code=code,
            customer=params.get("customer"),
            expires_at=as_int(params, "expires_at", required=False),
            max_redemptions=as_int(params, "max_redemptions", required=False),
            metadata=params.get("metadata") or {},
            promotion={"type": "coupon", "coupon": coupon_id},
            restrictions={
                "currency_options": {},
                "first_time_transaction": restrictions.get("first_time_transaction") == "true",
                "minimum_amount": as_int(restrictions, "minimum_amount", required=False),
                "minimum_amount_currency": restrictions.get("minimum_amount_currency"),
            },
            times_redeemed=0,
        )
        return snapshot(promotion_code)

    @route("GET", r"promotion_codes/(?P<promotion_code_id>[^/]+)")
    def retrieve(self, params: dict, promotion_code_id: str) -> dict:
        return snapshot(self.get(promotion_code_id, param="promotion_code"))

    @route("POST", r"promotion_codes/(?P<promotion_code_id>[^/]+)")
    def update(self, params: dict, promotion_code_id: str) -> dict:
        only_params(params, {"active", "expand", "metadata", "restrictions"})
        promotion_code = self.get(promotion_code_id, param="promotion_code")
        active = as_bool(params, "active", promotion_code["active"])
        if active and not promotion_code["active"]:
            if promotion_code["promotion"]["coupon"] not in self.server.store.get("coupon", {}):
                raise StripeError(
                    400,
                    "This promotion code can't be reactivated: its coupon is no longer valid.",
                    param="active",
                )
            if self.active_with_code(promotion_code["code"], other_than=promotion_code_id):
                raise StripeError(
                    400,
                    f"An active promotion code with `code: {promotion_code['code']}` already "
                    "exists.",
                    code="resource_already_exists",
                    param="active",
                )
        promotion_code["active"] = active
        if "metadata" in params:
            promotion_code["metadata"] = merge_metadata(
                promotion_code["metadata"], params["metadata"]
            )
        return snapshot(promotion_code)

    @route("GET", "promotion_codes")
    def list(self, params: dict) -> dict:
        active = as_bool(params, "active", None) if params.get("active") else None
        code = (params.get("code") or "").upper()
        coupon = params.get("coupon")

        def match(p: dict) -> bool:
            return (
                (active is None or p["active"] == active)
                and (not code or p["code"].upper() == code)
                and (not coupon or p["promotion"]["coupon"] == coupon)
            )

        page = list_page(self.objects.values(), params, "/v1/promotion_codes", match=match)
        return snapshot(page)


class CheckoutSessions(Resource):
    """https://docs.stripe.com/api/checkout/sessions: payment-mode sessions with
    `line_items[].price_data` (the fake has no Prices) and at most one entry in `discounts`
    (`coupon` or `promotion_code`), like Checkout. An unknown promotion code or coupon is a
    resource_missing error; an inactive promotion code (or one whose coupon is gone, or in
    another currency) is refused. The discount is computed as Stripe does: percent_off of the
    subtotal rounded to the minor unit, or amount_off up to the subtotal.

    `discounts` is `[{"coupon": <id>, "promotion_code": <id or null>}]`; `total_details` carries
    `breakdown` only when expanded (`expand[]=total_details.breakdown`), and
    `expand[]=discounts.promotion_code` expands the promotion codes. Sessions stay `open` until
    a test calls `FakeStripe.checkout_session_complete` (the shopper paying)."""

    object_name = "checkout.session"

    @route("POST", "checkout/sessions")
    def create(self, params: dict) -> dict:
        mode = params.get("mode") or ""
        if not mode:
            raise missing("mode")
        if mode != "payment":
            raise StripeError(
                400, "The fake supports mode=payment only.", param="mode", saved=False
            )
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            raise missing("line_items")
        currency, subtotal = None, 0
        for index, item in enumerate(items):
            data = item.get("price_data") if isinstance(item, dict) else None
            if not isinstance(data, dict):
                raise missing(f"line_items[{index}][price_data]")
            unit = as_int(data, "unit_amount")
            quantity = as_int(item, "quantity")
            if not data.get("currency"):
                raise missing(f"line_items[{index}][price_data][currency]")
            if currency not in (None, data["currency"].lower()):
                raise StripeError(
                    400,
                    "All line items must be in the same currency.",
                    param=f"line_items[{index}][price_data][currency]",
                    saved=False,
                )
            currency = data["currency"].lower()
            subtotal += unit * quantity
        discounts = params.get("discounts") or []
        if discounts and params.get("allow_promotion_codes"):
            raise StripeError(
                400,
                "You may only specify one of these parameters: allow_promotion_codes, discounts.",
                param="discounts",
                saved=False,
            )
        if len(discounts) > 1:
            raise StripeError(
                400, "You may only specify one discount.", param="discounts", saved=False
            )
        applied, discount_amount = [], 0
        for entry in discounts:
            coupon, promotion_code = self.discount_source(entry, currency)
            discount_amount = self.discount_amount(coupon, subtotal)
            applied.append(
                {
                    "coupon": coupon["id"],
                    "promotion_code": promotion_code["id"] if promotion_code else None,
                }
            )
        session_id = new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "allow_promotion_codes": params.get("allow_promotion_codes") == "true" or None,
            "amount_subtotal": subtotal,
            "amount_total": subtotal - discount_amount,
            "cancel_url": params.get("cancel_url"),
            "client_reference_id": params.get("client_reference_id") or None,
            "created": int(time.time()),
            "currency": currency,
            "customer": params.get("customer"),
            "customer_details": None,
            "customer_email": params.get("customer_email"),
            "discounts": applied,
            "expires_at": int(time.time()) + 24 * 3600,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "mode": mode,
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": params.get("success_url"),
            "total_details": {
                "amount_discount": discount_amount,
                "amount_shipping": 0,
                "amount_tax": 0,
            },
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        self.objects[session_id] = session
        return self.expanded(session, params)

    def discount_source(self, entry: dict, currency: str) -> tuple[dict, dict | None]:
        coupons = self.server.store.get("coupon", {})
        promotion_code = None
        if entry.get("promotion_code"):
            promotion_code_id = entry["promotion_code"]
            promotion_code = self.server.store.get("promotion_code", {}).get(promotion_code_id)
            if promotion_code is None:
                raise StripeError(
                    400,
                    f"No such promotion code: '{promotion_code_id}'",
                    code="resource_missing",
                    param="discounts[0][promotion_code]",
                )
            if not promotion_code["active"]:
                raise StripeError(
                    400,
                    f"This promotion code is not active: '{promotion_code['code']}'",
                    code="promotion_code_invalid",
                    param="discounts[0][promotion_code]",
                )
            coupon_id, param = promotion_code["promotion"]["coupon"], "discounts[0][promotion_code]"
        elif entry.get("coupon"):
            coupon_id, param = entry["coupon"], "discounts[0][coupon]"
        else:
            raise missing("discounts[0][coupon]")
        coupon = coupons.get(coupon_id)
        if coupon is None:
            raise StripeError(
                400, f"No such coupon: '{coupon_id}'", code="resource_missing", param=param
            )
        if coupon["amount_off"] is not None and coupon["currency"] != currency:
            raise StripeError(
                400,
                f"The coupon is in {coupon['currency']}; this session is in {currency}.",
                param=param,
            )
        return coupon, promotion_code

    @staticmethod
    def discount_amount(coupon: dict, subtotal: int) -> int:
        if coupon["amount_off"] is not None:
            return min(coupon["amount_off"], subtotal)
        off = Decimal(str(coupon["percent_off"])) * subtotal / 100
        return int(off.quantize(Decimal("1"), rounding=ROUND_HALF_UP))

    def expanded(self, session: dict, params: dict) -> dict:
        out = snapshot(session)
        expand = params.get("expand") or []
        expand = [expand] if isinstance(expand, str) else expand
        promotion_codes = self.server.store.get("promotion_code", {})
        if "discounts.promotion_code" in expand:
            for entry in out["discounts"]:
                if entry["promotion_code"]:
                    entry["promotion_code"] = snapshot(promotion_codes[entry["promotion_code"]])
        if "total_details.breakdown" in expand:
            out["total_details"]["breakdown"] = {
                "discounts": [
                    {
                        "amount": session["total_details"]["amount_discount"],
                        "discount": {
                            "id": f"di_{session['id'][-12:]}",
                            "object": "discount",
                            "checkout_session": session["id"],
                            "customer": session["customer"],
                            "end": None,
                            "invoice": None,
                            "invoice_item": None,
                            "promotion_code": entry["promotion_code"],
                            "source": {"type": "coupon", "coupon": entry["coupon"]},
                            "start": session["created"],
                            "subscription": None,
                        },
                    }
                    for entry in session["discounts"]
                ],
                "taxes": [],
            }
        return out

    @route("GET", r"checkout/sessions/(?P<session_id>[^/]+)")
    def retrieve(self, params: dict, session_id: str) -> dict:
        return self.expanded(self.get(session_id, param="session"), params)


class Refunds(Resource):
    """https://docs.stripe.com/api/refunds/list: refunds tests add with `FakeStripe.add_refund`
    (Stripe's example refund), listed newest first, by `charge` or `payment_intent`."""

    object_name = "refund"

    @route("GET", "refunds")
    def list(self, params: dict) -> dict:
        charge, intent = params.get("charge"), params.get("payment_intent")
        return list_page(
            self.objects.values(),
            params,
            "/v1/refunds",
            match=lambda r: (
                (not charge or r["charge"] == charge)
                and (not intent or r["payment_intent"] == intent)
            ),
        )

    @route("GET", r"refunds/(?P<refund_id>re_[^/]+)")
    def retrieve(self, params: dict, refund_id: str) -> dict:
        return self.get(refund_id, param="refund")


class Invoices(Resource):
    """https://docs.stripe.com/api/invoices/retrieve: invoices tests add with
    `FakeStripe.add_invoice`. Their `discounts` are ids; `expand[]=discounts` answers the
    discount objects (https://docs.stripe.com/api/discounts/object), which have no endpoint of
    their own."""

    object_name = "invoice"

    @route("GET", r"invoices/(?P<invoice_id>in_[^/]+)")
    def retrieve(self, params: dict, invoice_id: str) -> dict:
        invoice = snapshot(self.get(invoice_id, param="invoice"))
        expand = params.get("expand") or []
        if isinstance(expand, str):
            expand = [expand]
        if "discounts" in expand:
            discounts = self.server.store.get("discount", {})
            invoice["discounts"] = [discounts.get(d, d) for d in invoice["discounts"]]
        return invoice


class InvoicePayments(Resource):
    """https://docs.stripe.com/api/invoice-payment/list (API 2025-03-31.basil on): which
    PaymentIntent paid which invoice, filtered by `invoice` or by
    `payment[type]=payment_intent&payment[payment_intent]=...`."""

    object_name = "invoice_payment"

    @route("GET", "invoice_payments")
    def list(self, params: dict) -> dict:
        invoice = params.get("invoice")
        payment = params.get("payment") or {}
        if payment and payment.get("type") != "payment_intent":
            raise StripeError(400, "Invalid payment[type].", param="payment[type]", saved=False)
        intent = payment.get("payment_intent")
        return list_page(
            self.objects.values(),
            params,
            "/v1/invoice_payments",
            match=lambda p: (
                (not invoice or p["invoice"] == invoice)
                and (not intent or p["payment"].get("payment_intent") == intent)
            ),
        )


RESOURCES = [
    Transfers,
    Accounts,
    AccountLinks,
    Events,
    PaymentIntents,
    Coupons,
    PromotionCodes,
    CheckoutSessions,
    Refunds,
    Invoices,
    InvoicePayments,
]


# ------------------------------------------------------------------------------------ server
class FakeStripe:
    """The server and its state. `with FakeStripe() as stripe: ...` or start()/stop()."""

    def __init__(self):
        self.requests: list[Request] = []
        # Account links handed out, with the parameters they were made with (they have no id).
        self.account_links: list[dict] = []
        self.store: dict[str, dict[str, dict]] = {}
        self.resources = [resource(self) for resource in RESOURCES]
        # fail_next(): [method, path pattern, times left, Stripe-Should-Retry or None]
        self._failures: list[list] = []
        self._idempotent: dict[tuple[str, str], tuple[dict, int, dict]] = {}
        # One request at a time: state changes and idempotent replays need no finer locking.
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ what tests look at
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def transfers(self) -> list[dict]:
        """Transfers created (not replays), oldest first."""
        return list(self.store.get("transfer", {}).values())

    def requests_to(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path == path]

    @property
    def accounts(self) -> list[dict]:
        """Connected accounts created, oldest first."""
        return list(self.store.get("account", {}).values())

    def account_set_state(
        self,
        account_id: str,
        *,
        details_submitted: bool = True,
        payouts_enabled: bool = True,
        currently_due: list[str] | None = None,
        pending_verification: list[str] | None = None,
        event: bool = True,
    ) -> dict:
        """Move an account on as Stripe would after onboarding; with `event`, also record the
        account.updated event Stripe sends (returned) so the events list holds it."""
        with self._lock:
            account = self.store["account"][account_id]
            account["details_submitted"] = details_submitted
            account["payouts_enabled"] = payouts_enabled
            account["charges_enabled"] = payouts_enabled
            account["capabilities"] = {
                name: "active" if payouts_enabled else "inactive"
                for name in account["capabilities"]
            }
            account["requirements"] = Accounts.requirements(
                list(currently_due or []), pending_verification
            )
            snapshot = json.loads(json.dumps(account))
        return self.add_event("account.updated", snapshot, account=account_id) if event else {}

    def add_event(self, type: str, obj: dict, *, created: int | None = None, **extra) -> dict:
        """Record an event as Stripe would have sent it (https://docs.stripe.com/api/events/object);
        returns it. Tests deliver it to the webhook themselves, or leave it to reconciliation."""
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()) if created is None else created,
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
            **extra,
        }
        with self._lock:
            self.store.setdefault("event", {})[event["id"]] = event
        return event

    def add_payment_intent(
        self,
        *,
        amount: int,
        currency: str = "eur",
        status: str = "succeeded",
        created: int | None = None,
        **fields,
    ) -> dict:
        """A PaymentIntent as it looks once paid (https://docs.stripe.com/api/payment_intents)."""
        payment_intent = {
            "id": new_id("pi"),
            "object": "payment_intent",
            "amount": amount,
            "amount_received": amount if status == "succeeded" else 0,
            "created": int(time.time()) if created is None else created,
            "currency": currency,
            "customer": None,
            "latest_charge": new_id("ch") if status == "succeeded" else None,
            "livemode": False,
            "metadata": {},
            "receipt_email": None,
            "status": status,
            **fields,
        }
        with self._lock:
            self.store.setdefault("payment_intent", {})[payment_intent["id"]] = payment_intent
        return payment_intent

    def add_object(self, obj: dict) -> dict:
        """Store a Stripe object a test built (a refund, an invoice, a discount, an invoice
        payment: tests/fixtures/stripe builds them from Stripe's examples) so the routes above
        answer it as Stripe would; returns it."""
        with self._lock:
            self.store.setdefault(obj["object"], {})[obj["id"]] = json.loads(json.dumps(obj))
        return obj

    @property
    def coupons(self) -> list[dict]:
        """Coupons that exist (not deleted), oldest first."""
        return list(self.store.get("coupon", {}).values())

    @property
    def promotion_codes(self) -> list[dict]:
        """Promotion codes created, oldest first."""
        return list(self.store.get("promotion_code", {}).values())

    def fail_next(self, method: str, path: str, *, times: int = 1, should_retry=None) -> None:
        """Answer the next `times` requests to `method path` (a regex on the path) with Stripe's
        500 api_error before the endpoint runs: nothing changes and nothing is saved under the
        idempotency key (an outage in front of Stripe). `should_retry` sets Stripe-Should-Retry,
        which the client obeys: False hands the error straight to the caller."""
        with self._lock:
            self._failures.append([method, re.compile(rf"^{path}$"), times, should_retry])

    def checkout_session_complete(
        self, session_id: str, *, email: str = "shopper@example.com", name: str = "Sam Shopper"
    ) -> dict:
        """The shopper pays: the session completes with a PaymentIntent and the discount is
        redeemed. Returns the session as checkout.session.completed carries it (unexpanded)."""
        with self._lock:
            session = self.store["checkout.session"][session_id]
            session.update(
                status="complete",
                payment_status="paid",
                payment_intent=new_id("pi"),
                customer_details={"email": email, "name": name},
            )
            for entry in session["discounts"]:
                self.store["coupon"][entry["coupon"]]["times_redeemed"] += 1
                if entry["promotion_code"]:
                    self.store["promotion_code"][entry["promotion_code"]]["times_redeemed"] += 1
            return json.loads(json.dumps(session))

    # ---------------------------------------------------------------------------- lifecycle
    def start(self) -> "FakeStripe":
        self._httpd = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one interval
            name="fake-stripe",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=5)
            self._httpd = None

    def __enter__(self) -> "FakeStripe":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ----------------------------------------------------------------------------- dispatch
    def handle(
        self, method: str, raw_path: str, headers: dict, body: str
    ) -> tuple[int, dict, dict]:
        """(status, JSON body, extra headers) for one request; records it."""
        split = urlsplit(raw_path)
        params = decode_form(body if method == "POST" else split.query)
        request = Request(method=method, path=split.path, headers=headers, params=params)
        with self._lock:
            self.requests.append(request)
            status, payload, extra = self._answer(request)
            request.status, request.response = status, payload
            request.replayed = extra.get("Idempotent-Replayed") == "true"
        return status, payload, extra

    def _answer(self, request: Request) -> tuple[int, dict, dict]:
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ").strip()
        if not auth.startswith("Bearer ") or not key.startswith(("sk_", "rk_")):
            error = StripeError(401, f"Invalid API Key provided: {key[:8] or '(none)'}***")
            return error.status, error.body(), {}
        failure = self._injected_failure(request)
        if failure is not None:
            return failure
        idempotency_key = request.idempotency_key if request.method == "POST" else None
        if idempotency_key:
            saved = self._idempotent.get((key, idempotency_key))
            if saved is not None:
                first_params, status, payload = saved
                if first_params != (request.path, request.params):
                    error = StripeError(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than "
                        f"'{idempotency_key}' if you meant to execute a different request.",
                        type="idempotency_error",
                    )
                    return error.status, error.body(), {}
                return status, payload, {"Idempotent-Replayed": "true"}
        handler, kwargs = self._route(request)
        try:
            status, payload = 200, handler(request.params, **kwargs)
            save = True
        except StripeError as error:
            status, payload, save = error.status, error.body(), error.saved
        if idempotency_key and save:
            self._idempotent[(key, idempotency_key)] = (
                (request.path, request.params),
                status,
                payload,
            )
        return status, payload, {}

    def _injected_failure(self, request: Request) -> tuple[int, dict, dict] | None:
        for failure in self._failures:
            method, pattern, times, should_retry = failure
            if times > 0 and method == request.method and pattern.match(request.path):
                failure[2] -= 1
                error = StripeError(
                    500,
                    "An unknown error occurred (injected by the test).",
                    type="api_error",
                )
                extra = {}
                if should_retry is not None:
                    extra["Stripe-Should-Retry"] = "true" if should_retry else "false"
                return error.status, error.body(), extra
        return None

    def _route(self, request: Request):
        for resource in self.resources:
            for name in dir(type(resource)):
                handler = getattr(resource, name)
                method, pattern = getattr(handler, "route", (None, None))
                if method != request.method:
                    continue
                match = pattern.match(request.path)
                if match:
                    return handler, match.groupdict()

        def unknown(params):
            raise StripeError(
                404,
                f"Unrecognized request URL ({request.method}: {request.path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                saved=False,
            )

        return unknown, {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Tests open many connections at once; the default backlog of 5 would drop SYNs (1 s stalls).
    request_queue_size = 128


def _handler(server: FakeStripe):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload, extra = server.handle(self.command, self.path, headers, body)
            data = json.dumps(payload).encode()
            self.send_response(status, HTTPStatus(status).phrase)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", new_id("req"))
            self.send_header("Stripe-Version", headers.get("stripe-version", API_VERSION))
            if headers.get("idempotency-key"):
                self.send_header("Idempotency-Key", headers["idempotency-key"])
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format, *args):  # quiet: the test output is enough
            pass

    return Handler
