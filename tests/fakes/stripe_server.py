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
"""

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
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


RESOURCES = [Transfers]


# ------------------------------------------------------------------------------------ server
class FakeStripe:
    """The server and its state. `with FakeStripe() as stripe: ...` or start()/stop()."""

    def __init__(self):
        self.requests: list[Request] = []
        self.store: dict[str, dict[str, dict]] = {}
        self.resources = [resource(self) for resource in RESOURCES]
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
