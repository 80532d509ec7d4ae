"""The Content-Security-Policy holds in a real browser: Chromium reports no violation on the
public pages, the advocate's dashboard or the Wagtail admin (page editor and live preview
included), and the per-item styles the policy moved out of style="" still reach the page."""

import re
import time

import pytest
from playwright.sync_api import Page, expect
from wagtail.admin.models import EditingSession

from tests.factories import PASSWORD, UserFactory

from .test_referral_loop import log_in

pytestmark = pytest.mark.e2e

# Every securitypolicyviolation event, as the page sees it, into the console we collect.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) =>
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`));
"""


def watched(page: Page) -> list[str]:
    messages = []
    page.add_init_script(REPORT_VIOLATIONS)
    page.on("console", lambda m: m.type == "error" and messages.append(m.text))
    return messages


def csp_errors(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m or "CSP violation" in m]


# One story, not several tests: the live server's flush after a test removes the Wagtail root
# page that migrations made, which the next test's campaign page would need.
def test_no_policy_violation_for_shoppers_advocates_or_managers(
    new_page, campaign_page, rep_code, advocate
):
    page = new_page()
    messages = watched(page)
    page.goto(f"/r/{rep_code.code}")
    expect(page).to_have_url(re.compile(rf"{campaign_page.url}\?ref="))
    page.goto("/shop/")
    # The product colour travels in data-var-swatch and is applied by our script.
    swatch = page.locator(".product-card .swatch").first
    expect(swatch).to_have_attribute("data-var-swatch", re.compile(r".+"))
    colour = swatch.evaluate("el => getComputedStyle(el).getPropertyValue('--swatch').trim()")
    assert colour == swatch.get_attribute("data-var-swatch")
    page.get_by_role("link", name=re.compile("^Buy")).first.click()
    expect(page).to_have_url(re.compile(r"/shop/checkout/"))
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info")).to_be_visible()

    log_in(page, advocate.user.email)
    bars = page.locator(".bar-chart .bar")
    expect(bars.first).to_be_attached()
    heights = bars.evaluate_all(
        "els => els.map(el => [el.dataset.varH, el.style.getPropertyValue('--h')])"
    )
    assert heights
    assert all(declared == applied for declared, applied in heights)

    assert csp_errors(messages) == []

    # A manager in the Wagtail admin, editing the campaign page with its live preview open.
    UserFactory(email="manager@example.com", is_staff=True, is_superuser=True)
    page = new_page()
    messages = watched(page)
    page.goto("/account/login/?next=/admin/")
    page.locator("input[name=login]").fill("manager@example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))

    page.goto(f"/admin/pages/{campaign_page.pk}/edit/")
    page.locator("button[data-side-panel-toggle='preview']").click()
    # The preview is our page, framed by the admin: its frame-ancestors is relaxed to 'self'.
    preview = page.frame_locator("#w-preview-iframe")
    expect(preview.locator(".site-header, header").first).to_contain_text("Streetteam")

    assert csp_errors(messages) == []

    # Leave the editor while the test still owns the database: the page sends a beacon that
    # releases its editing session, and a beacon still in flight when the test ends would hold
    # the live server's tables while they are flushed (and fail every browser test after it).
    assert EditingSession.objects.exists()
    page.goto("/admin/")
    _wait_until(lambda: not EditingSession.objects.exists())


def _wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the editing session was never released"
        time.sleep(0.05)
