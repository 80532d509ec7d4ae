"""localstripe on loopback for the whole session, sending its signed webhooks to the live server.

`localstripe` starts tests/stripe_local/server.py (localstripe, bound to 127.0.0.1) on a free
port and stops it at the end of the session; `stripe_local` points the project at it (secret
key, API base, webhook secret) and answers the real `stripe` client the project uses. `outage`
takes our endpoint down for a while (so events arrive late), and `deliver` brings them later, as
Stripe's retries would.

The live server runs the app in a thread against the test database, so these tests use
`django_db(transaction=True)`: what the test writes must be committed for the server to see it.
"""

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from referrals.stripe import client as stripe_api

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "sk_test_streetteam_localstripe"
WEBHOOK_SECRET = "whsec_streetteam_localstripe"
# What a merchant subscribes their endpoint to for PaymentIntents; localstripe's other events
# (customer.created, ...) would only be stored as ignored.
WEBHOOK_EVENTS = ["payment_intent.succeeded", "charge.refunded"]
STARTUP_SECONDS = 15


@dataclass
class LocalStripe:
    url: str

    def register_webhook(self, target: str) -> None:
        """(Re)point localstripe's one webhook endpoint, through its own config API."""
        body = {"url": target, "secret": WEBHOOK_SECRET, "events": WEBHOOK_EVENTS}
        request = urllib.request.Request(  # noqa: S310 (our own loopback URL)
            f"{self.url}/_config/webhooks/streetteam",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            assert response.status == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    request = urllib.request.Request(  # noqa: S310 (our own loopback URL)
        f"{url}/v1/customers?limit=1", headers={"Authorization": f"Bearer {SECRET_KEY}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=1) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, ConnectionError):
        return False


def _start(port: int, log) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 (our own fixed command line)
        [sys.executable, "-m", "tests.stripe_local.server", "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    # A file, not a pipe, for its output: a pipe nobody reads would block the server when full.
    log_path = tmp_path_factory.mktemp("localstripe") / "server.log"
    with log_path.open("w") as log:
        for attempt in range(5):
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            server = _start(port, log)
            deadline = time.monotonic() + STARTUP_SECONDS
            while not _answers(url):
                if server.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            else:
                break
            _stop(server)
            output = log_path.read_text()
            # The port was taken between probing and binding: try another.
            if attempt == 4 or "address already in use" not in output.lower():
                pytest.fail(f"localstripe did not start on {url}:\n{output}", pytrace=False)
        try:
            yield LocalStripe(url=url)
        finally:
            _stop(server)


@pytest.fixture(scope="session")
def localstripe_webhook_url(localstripe, django_db_setup, live_server):
    """Where localstripe delivers events: the live server's /stripe/webhook/.

    The test database comes first: the live server shares the test thread's in-memory SQLite
    connection only if that database exists when it starts. Started earlier, its thread opens a
    second connection to the shared-cache database, and the two then collide on table locks
    ("database table is locked") whenever a poll and a write overlap.
    """
    url = f"{live_server.url}/stripe/webhook/"
    localstripe.register_webhook(url)
    return url


@pytest.fixture
def stripe_local(settings, localstripe, localstripe_webhook_url):
    """The project configured for localstripe; returns the project's own Stripe client."""
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_API_BASE = localstripe.url
    settings.STRIPE_WEBHOOK_SECRETS = [WEBHOOK_SECRET]
    return stripe_api.client()


@dataclass
class Refused:
    """What a down webhook endpoint refused while it was down: the exact bodies localstripe sent."""

    bodies: list[bytes]
    taken: int = 0

    def next_event(self, seconds: float = 15) -> bytes:
        """Wait for localstripe's next delivery attempt and return its body."""
        deadline = time.monotonic() + seconds
        while len(self.bodies) <= self.taken:
            if time.monotonic() > deadline:
                pytest.fail(f"localstripe sent nothing to the down endpoint in {seconds}s")
            time.sleep(0.05)
        self.taken += 1
        return self.bodies[self.taken - 1]


@pytest.fixture
def outage(localstripe, localstripe_webhook_url):
    """`with outage() as refused:` our endpoint is down (localstripe's deliveries get a 503, and
    localstripe never retries); afterwards it is back. The refused bodies are what Stripe would
    deliver again later: tests deliver them late with `deliver`."""
    bodies: list[bytes] = []

    class Down(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Down)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    @contextmanager
    def down():
        localstripe.register_webhook(f"http://127.0.0.1:{server.server_port}/")
        try:
            yield Refused(bodies=bodies, taken=len(bodies))
        finally:
            localstripe.register_webhook(localstripe_webhook_url)

    yield down
    server.shutdown()
    server.server_close()


@pytest.fixture
def deliver(localstripe_webhook_url):
    """POST a body to the live server's webhook, signed now (as Stripe signs each retry);
    returns (status, JSON answer)."""

    def _deliver(body: bytes) -> tuple[int, dict]:
        timestamp = int(time.time())
        mac = hmac.new(WEBHOOK_SECRET.encode(), b"%d.%s" % (timestamp, body), hashlib.sha256)
        request = urllib.request.Request(  # noqa: S310 (the live server on loopback)
            localstripe_webhook_url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": f"t={timestamp},v1={mac.hexdigest()}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    return _deliver
