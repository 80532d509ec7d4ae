"""The merchant link script (static/streetteam-merchant.js) in Chromium, on a shop of another
origin: a tiny merchant page served from a second loopback server (127.0.0.1) that loads the
script from the live server (localhost), the way a merchant installs it (README "Connect any
store").

Only a real click replaces a stored referral, and the referral lasts the programme's window as
the server says it (st_win): a ?ref= from some other tool is ignored, and neither the script's
own default nor data-window-days can stretch the window of the code it pre-fills.
"""

import html
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page

from tests.factories import AdvocateFactory, ProgrammeFactory, RepCodeFactory

pytestmark = pytest.mark.e2e

DAY_MS = 86_400_000


class MerchantShop:
    """A merchant's page on http://127.0.0.1:PORT/shop with the two lines from the README."""

    def __init__(self, script_url: str):
        self.script_url = script_url
        self.window_days_attr: str | None = None  # data-window-days on the script tag
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                attr = (
                    f' data-window-days="{html.escape(shop.window_days_attr)}"'
                    if shop.window_days_attr
                    else ""
                )
                body = (
                    "<!doctype html><html><head><title>Merchant shop</title>"
                    f'<script src="{html.escape(shop.script_url)}"{attr} defer></script>'
                    "</head><body><h1>Checkout</h1><label>Coupon "
                    '<input name="coupon" data-streetteam-code></label></body></html>'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/shop"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def shop(live_server):
    merchant = MerchantShop(f"{live_server.url}/static/streetteam-merchant.js")
    assert "localhost" in live_server.url  # two origins: the script's and the shop's
    yield merchant
    merchant.close()


@pytest.fixture
def programme(db, shop):
    return ProgrammeFactory(landing_url=shop.url, attribution_window_days=7)


@pytest.fixture
def anna(programme):
    advocate = AdvocateFactory(programme=programme, user__first_name="Anna")
    return RepCodeFactory(advocate=advocate, code="ANNA20")


@pytest.fixture
def ben(programme):
    advocate = AdvocateFactory(programme=programme, user__first_name="Ben")
    return RepCodeFactory(advocate=advocate, code="BEN20")


def stored(page: Page) -> dict:
    """What the script exposes and keeps, read on the merchant's page."""
    return page.evaluate(
        """() => ({
            code: window.Streetteam.code,
            visitorId: window.Streetteam.visitorId,
            field: document.querySelector('[data-streetteam-code]').value,
            saved: JSON.parse(localStorage.getItem('streetteam_referral') || 'null'),
        })"""
    )


def land(page: Page, url: str) -> dict:
    page.goto(url)
    page.wait_for_function("() => window.Streetteam !== undefined")
    return stored(page)


def click_link(page: Page, shop: MerchantShop, code: str) -> dict:
    """Follow /r/CODE on Streetteam and land on the merchant's page, as a shopper does."""
    response = page.goto(f"/r/{code}")
    link = re.escape(f"{shop.url}?st_code={code.upper()}&st_win=7&st_vid=")
    # The shop was asked for the visitor id as the server signed it: ID.SIGNATURE.
    assert re.match(f"^{link}[0-9a-f]{{32}}\\.[A-Za-z0-9_-]{{43}}$", response.url), response.url
    page.wait_for_function("() => window.Streetteam !== undefined")
    return stored(page)


def visitor_cookie(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "st_vid")


def test_a_plain_ref_never_replaces_a_referral_and_a_real_click_does(new_page, shop, anna, ben):
    page = new_page()
    first = click_link(page, shop, "anna20")
    visitor = visitor_cookie(page)
    assert (first["code"], first["visitorId"], first["field"]) == ("ANNA20", visitor, "ANNA20")

    # Another tool's ?ref= on the shop's own URL, even one shaped like Streetteam's: ignored.
    for query in ["ref=FOO20", "ref=BEN20", "ref=BEN20&st_win=90", "st_code=BEN20"]:
        after = land(page, f"{shop.url}?{query}")
        assert (after["code"], after["visitorId"], after["field"]) == (
            "ANNA20",
            visitor,
            "ANNA20",
        ), query
        assert after["saved"]["code"] == "ANNA20"

    # A real click on another link replaces it (last click wins, as on the server).
    second = click_link(page, shop, "BEN20")
    assert (second["code"], second["visitorId"], second["field"]) == ("BEN20", visitor, "BEN20")

    # A link shared before st_code existed (?ref=CODE&st_vid=…) is still a click.
    legacy = land(page, f"{shop.url}?ref=ANNA20&st_vid={visitor}")
    assert (legacy["code"], legacy["visitorId"]) == ("ANNA20", visitor)


def test_the_address_bar_drops_the_visitor_id_once_it_is_stored(new_page, shop, anna):
    """A shop URL the shopper copies and shares must not carry their signed id (whoever holds
    it could plant clicks under it); the shop's own parameters stay."""
    page = new_page()
    click_link(page, shop, "ANNA20")
    landed = land(page, page.url)  # the same page again, as the address bar now reads
    assert "st_vid" not in page.url
    assert "st_code" not in page.url
    assert page.url == shop.url
    assert landed["code"] == "ANNA20"

    page.goto("/r/ANNA20")
    page.wait_for_function("() => window.Streetteam !== undefined")
    assert page.url == shop.url

    tagged = page.goto(
        f"{shop.url}?utm_source=mail&st_code=ANNA20&st_win=7&st_vid={visitor_cookie(page)}"
    )
    page.wait_for_function("() => window.Streetteam !== undefined")
    assert "st_vid=" in tagged.url
    assert page.url == f"{shop.url}?utm_source=mail"


def test_an_unsigned_visitor_id_is_not_a_click(new_page, shop, anna):
    # Links carried the bare id before it was signed; the server attributes nothing to one, so
    # the script doesn't keep it (nor the code with it) either.
    page = new_page()
    bare = land(page, f"{shop.url}?st_code=ANNA20&st_win=7&st_vid={'a' * 32}")
    assert (bare["code"], bare["visitorId"], bare["saved"]) == (None, None, None)


def test_a_plain_ref_on_a_fresh_visit_stores_nothing(new_page, shop, anna):
    page = new_page()
    fresh = land(page, f"{shop.url}?ref=ANNA20")
    assert (fresh["code"], fresh["visitorId"], fresh["field"], fresh["saved"]) == (
        None,
        None,
        "",
        None,
    )


def test_the_window_comes_from_the_server_and_the_prefilled_code_ends_with_it(new_page, shop, anna):
    page = new_page()
    page.clock.set_system_time(datetime.now(UTC))  # the shopper's clock, moved on below
    landed = click_link(page, shop, "ANNA20")
    saved = landed["saved"]
    assert saved["expires"] - saved["clickedAt"] == 7 * DAY_MS  # st_win=7, not the old 30
    cookie = next(c for c in page.context.cookies() if c["name"] == "streetteam_referral")
    # (max-age counts from the browser's real clock, a moment off the page's.)
    assert abs(cookie["expires"] - saved["clickedAt"] / 1000 - 7 * 86400) < 60

    page.clock.set_system_time(datetime.now(UTC) + timedelta(days=6))
    assert land(page, shop.url)["field"] == "ANNA20"

    # Eight days later the programme no longer attributes the click, and the script no longer
    # pre-fills the code (which would count as typed at checkout and win).
    page.clock.set_system_time(datetime.now(UTC) + timedelta(days=8))
    late = land(page, shop.url)
    assert (late["code"], late["visitorId"], late["field"]) == (None, None, "")


@pytest.mark.parametrize(("attr", "days"), [("60", 7), ("3", 3), ("not-a-number", 7)])
def test_data_window_days_can_only_shorten_the_window(new_page, shop, anna, attr, days):
    shop.window_days_attr = attr
    page = new_page()
    saved = click_link(page, shop, "ANNA20")["saved"]
    assert saved["expires"] - saved["clickedAt"] == days * DAY_MS


def test_the_old_script_name_still_works(new_page, shop, anna, live_server):
    shop.script_url = f"{live_server.url}/static/streetteam.js"
    page = new_page()
    landed = click_link(page, shop, "ANNA20")
    assert (landed["code"], landed["field"]) == ("ANNA20", "ANNA20")
    assert landed["saved"]["expires"] - landed["saved"]["clickedAt"] == 7 * DAY_MS
