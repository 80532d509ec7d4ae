"""A programme manager's day in a real browser, from the admin home to a paid payout: the
overview, a report and its CSV, an advocate's page, the commission queue, a fraud signal, and a
manual payout batch from build to paid; then the advocate sees the payout on her dashboard.

Every page of ours the manager opens passes axe (tests/e2e/axe.py); the overview and the
advocate's page also at phone width, without scrolling sideways. The manager signs in as in
production: STREETTEAM_STAFF_MFA_REQUIRED on, with the code of the authenticator app set up
before (tests/e2e/test_staff_mfa.py walks through setting one up)."""

import csv
import re
import time
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.urls import reverse
from playwright.sync_api import Page, expect

from advocacy.models import Advocate
from referrals.ledger_selectors import payable_balance
from referrals.models import Commission, FraudSignal, Payout, PayoutBatch
from referrals.services.orders import order_ingest
from tests.e2e.axe import assert_no_serious_axe_findings
from tests.factories import (
    PASSWORD,
    AdvocateFactory,
    ClickDailyFactory,
    ProgrammeFactory,
    RepCodeFactory,
    UserFactory,
    received_ago,
    sale,
)

pytestmark = pytest.mark.e2e

IBAN = "DE89370400440532013000"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"
PAST_THE_HOLD = timedelta(days=31)

# Parts of Wagtail's own chrome left out of the axe checks, each for the rule it breaks:
# - color-contrast: Wagtail's success message, white text on its --w-color-positive-100 green
#   (3.97:1 at 13.6 px); the message's words are ours and the test reads them below.
WAGTAIL_CHROME = [".messages .success"]


def assert_our_page_passes_axe(page: Page) -> None:
    assert_no_serious_axe_findings(page, exclude=WAGTAIL_CHROME)


@pytest.fixture
def story(db):
    """Trail Club (EUR, 10% commission, 30-day hold, €10.00 payout threshold) and its people:

    - the manager, with an authenticator app;
    - Anna, paid by bank transfer, code ANNA10 with 40 link clicks and three sales this month:
      anna-1001 (€120.00, commission €12.00) and anna-1002 (€80.00, €8.00), both past their
      hold (ready for review), and anna-1003 (€45.00, €4.50) still on hold;
    - Ben, whose only order is his own: a self-referral, so no commission and an open signal.
    """
    programme = ProgrammeFactory(name="Trail Club", slug="trail-club", payout_threshold=1000)
    manager = UserFactory(
        email="manager@example.com", first_name="Mia", is_staff=True, is_superuser=True
    )
    TOTP.activate(manager, TOTP_SECRET)
    anna = AdvocateFactory(
        programme=programme,
        user=UserFactory(first_name="Anna", last_name="Jones", email="anna@example.com"),
        payout_method=Advocate.PayoutMethod.BANK,
        payout_details={"account_holder": "Anna Jones", "iban": IBAN},
    )
    code = RepCodeFactory(advocate=anna, code="ANNA10", is_vanity=True)
    ClickDailyFactory(rep_code=code, clicks=40)
    for external_id, gross in (("anna-1001", 12000), ("anna-1002", 8000)):
        received_ago(sale(code, external_id, gross).commission, PAST_THE_HOLD)
    sale(code, "anna-1003", 4500)
    ben = AdvocateFactory(
        programme=programme,
        user=UserFactory(first_name="Ben", email="ben@example.com"),
    )
    RepCodeFactory(advocate=ben, code="BEN10")
    order_ingest(
        source="api",
        external_id="ben-2001",
        currency="EUR",
        gross_amount=6000,
        code="BEN10",
        shopper_email="ben@example.com",
    )
    assert not Commission.objects.filter(advocate=ben).exists()
    signal = FraudSignal.objects.get(order__external_id="ben-2001")
    assert signal.kind == FraudSignal.Kind.SELF_REFERRAL
    return {"programme": programme, "anna": anna, "signal_id": signal.pk}


def totp_code() -> str:
    return format_hotp_value(hotp_value(TOTP_SECRET, int(time.time()) // 30))


def manager_logs_in(page: Page) -> None:
    page.goto("/account/login/?next=/admin/")
    page.locator("input[name=login]").fill("manager@example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/account/2fa/authenticate/"))
    page.locator("input[name=code]").fill(totp_code())
    page.get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))


def fits_a_phone(page: Page) -> None:
    """At 390 px: no serious axe finding, and nothing wider than the screen."""
    page.set_viewport_size(PHONE)
    assert_our_page_passes_axe(page)
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the page scrolls sideways at 390 px"
    page.set_viewport_size({"width": 1280, "height": 900})


def queue_row(table, label: str):
    return table.locator("tbody tr").filter(has=table.page.get_by_role("rowheader", name=label))


def test_manager_reviews_approves_and_pays_and_the_advocate_sees_the_payout(
    new_page, settings, story, tmp_path
):
    settings.STREETTEAM_STAFF_MFA_REQUIRED = True
    anna = story["anna"]
    page = new_page()
    manager_logs_in(page)

    # The overview: the last 30 days' money in euros and where the commissions stand. Ben's
    # order counts as referred (his code brought it) though it earns nothing: €245 + €60.
    overview = page.get_by_role("region", name="Programme overview")
    expect(overview).to_contain_text("Trail Club")
    revenue = overview.locator(".streetteam-card").filter(has_text="Referred revenue")
    expect(revenue.locator(".streetteam-card__value")).to_have_text("€305.00")
    standing = overview.locator("table").filter(has_text="Where they stand")
    expect(queue_row(standing, "Ready for review")).to_contain_text("2")
    expect(queue_row(standing, "Ready for review")).to_contain_text("€20.00")
    expect(queue_row(standing, "On hold")).to_contain_text("€4.50")
    assert_our_page_passes_axe(page)
    page.screenshot(path=tmp_path / "1-overview.png", full_page=True)
    fits_a_phone(page)

    # Programme reports > Funnel, and its CSV.
    page.get_by_role("button", name="Programme reports").click()
    page.get_by_role("link", name="Funnel").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Funnel")
    expect(page.locator(".streetteam-report-table")).to_contain_text("€305.00")
    assert_our_page_passes_axe(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename.startswith("streetteam-funnel-trail-club-")
    with open(download.value.path(), encoding="utf-8", newline="") as export:
        rows = list(csv.reader(export))
    assert rows[0] == ["Step", "Count", "Money", "Share of the step before", "Currency"]
    assert rows[1][:2] == ["Link clicks", "40"]

    # Anna's page, from the advocates list: her figures and her bank details, masked.
    page.goto(reverse("advocates:index"))
    assert_our_page_passes_axe(page)
    page.get_by_role("link", name="anna@example.com").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Anna Jones")
    figures = page.locator("section").filter(has=page.locator("#figures-heading"))
    expect(figures).to_contain_text("Referred revenue€245.00")
    expect(figures).to_contain_text("Earned€24.50")
    expect(figures).to_contain_text("Payable now€0.00")
    details = page.locator("section").filter(has=page.locator("#details-heading"))
    expect(details).to_contain_text("Bank transfer")
    expect(details).to_contain_text("Anna Jones")
    expect(details).to_contain_text("3000")  # the IBAN's last digits, to recognise it by
    assert IBAN not in page.content()
    assert "DE89 3704 0044 0532 0130 00" not in page.content()
    assert_our_page_passes_axe(page)
    page.screenshot(path=tmp_path / "2-advocate.png", full_page=True)
    fits_a_phone(page)

    anna_page = page.url

    # The queue opens on what is ready for review; the manager approves one of the two.
    page.goto(reverse("commissions:index"))
    expect(page.get_by_text("2 commissions ready for review")).to_be_visible()
    rows = page.locator("table.listing tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Ready for review")).to_have_count(2)
    assert_our_page_passes_axe(page)
    page.get_by_role("checkbox", name=re.compile("anna-1001")).check()
    page.get_by_role("button", name="Approve ticked").click()
    expect(page.locator(".messages li")).to_have_count(1)
    expect(page.locator(".messages")).to_have_text(
        re.compile(r"^\s*Approved 1 commission worth €12\.00\.\s*$")
    )
    expect(page.get_by_text("1 commission ready for review")).to_be_visible()
    page.screenshot(path=tmp_path / "3-queue.png", full_page=True)
    # Anna's €12.00 can be paid now.
    page.goto(anna_page)
    expect(figures).to_contain_text("Payable now€12.00")

    # Ben's self-referral: dismissed, with the reason.
    page.goto(reverse("fraud_signals:index"))
    expect(page.locator("table.listing tbody tr").filter(has_text="ben-2001")).to_contain_text(
        "Open"
    )
    assert_our_page_passes_axe(page)
    page.goto(reverse("fraud_signals:resolve", args=[story["signal_id"]]))
    expect(page.get_by_text("ben-2001").first).to_be_visible()
    assert_our_page_passes_axe(page)
    page.get_by_label("Dismiss: the order stays without commission").check()
    page.get_by_label("Reason").fill("His own order, placed to test the code.")
    page.get_by_role("button", name="Resolve").click()
    expect(page).to_have_url(re.compile(r"/admin/fraud-signals/$"))
    expect(page.locator(".messages")).to_contain_text("Signal dismissed")
    row = page.locator("table.listing tbody tr").filter(has_text="ben-2001")
    expect(row).to_contain_text("Dismissed by manager@example.com")

    # A manual payout batch: build, approve with the password, execute, the bank CSV, paid.
    page.goto(reverse("payouts:index"))
    assert_our_page_passes_axe(page)
    page.get_by_role("link", name="Build a batch").click()
    assert_our_page_passes_axe(page)
    page.get_by_role("combobox", name="Programme").select_option(label="Trail Club")
    expect(page.get_by_role("radio", name=re.compile("Manual"))).to_be_checked()
    page.get_by_role("button", name="Build batch").click()
    expect(page.locator(".messages")).to_contain_text("1 payout, €12.00 in all")
    expect(page).to_have_url(re.compile(r"/admin/payouts/inspect/\d+/$"))
    batch_id = int(page.url.rstrip("/").rpartition("/")[2])
    line = page.locator("tr[id^=payout-]")
    expect(line).to_have_count(1)
    payout_id = int(line.get_attribute("id").removeprefix("payout-"))
    expect(line).to_contain_text("anna@example.com")
    expect(line).to_contain_text("€12.00")
    expect(line).to_contain_text("Bank transfer")
    assert IBAN not in page.content()
    assert_our_page_passes_axe(page)

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Approve batch").click()
    expect(page.locator(".messages")).to_contain_text(f"Batch {batch_id} approved")
    page.get_by_role("button", name="Execute batch").click()
    expect(page.locator(".messages")).to_contain_text("Batch released for payment")
    assert_our_page_passes_axe(page)
    page.screenshot(path=tmp_path / "4-batch-executing.png", full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV of every payout").click()
    with open(download.value.path(), encoding="utf-8", newline="") as export:
        rows = list(csv.reader(export))
    assert rows[0][:5] == ["payout_id", "advocate_name", "email", "amount", "currency"]
    assert rows[1][:5] == [str(payout_id), "Anna Jones", "anna@example.com", "12.00", "EUR"]
    assert IBAN in rows[1]  # the bank needs the full account: only in the file

    page.get_by_label(f"Bank reference for payout {payout_id}").fill("SEPA-2026-0042")
    page.get_by_role("button", name="Mark paid").click()
    expect(page.locator(".messages")).to_contain_text(f"Payout {payout_id} marked paid")
    expect(line).to_contain_text("Paid")
    expect(line).to_contain_text("SEPA-2026-0042")
    expect(page.locator(".streetteam-summary")).to_contain_text("Done")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the settled batch scrolls sideways"
    page.screenshot(path=tmp_path / "5-batch-done.png", full_page=True)

    # Anna, in her own browser, finds the money sent.
    advocate = new_page()
    advocate.goto("/account/login/?next=/dashboard/payouts/")
    advocate.locator("input[name=login]").fill("anna@example.com")
    advocate.locator("input[name=password]").fill(PASSWORD)
    advocate.get_by_role("button", name="Log in").click()
    expect(advocate).to_have_url(re.compile(r"/dashboard/payouts/$"))
    paid_out = advocate.locator(".stat").filter(has_text="Paid out")
    expect(paid_out.locator(".stat-value")).to_have_text("€12.00")
    history = advocate.locator("table tbody tr").filter(has_text="SEPA-2026-0042")
    expect(history).to_contain_text("€12.00")
    expect(history.locator(".badge-paid")).to_have_text("Paid")
    advocate.screenshot(path=tmp_path / "6-anna-payouts.png", full_page=True)

    # The ledger agrees with the pages (read once the browsers are done with the server).
    assert payable_balance(anna, "EUR") == 0
    assert Payout.objects.get(pk=payout_id).status == Payout.Status.PAID
    assert PayoutBatch.objects.get(pk=batch_id).status == PayoutBatch.Status.DONE
