"""The whole referral loop in a real browser: link -> campaign page -> shop -> checkout -> thanks,
then the advocate's dashboard shows the pending commission, and nobody else's does."""

import re

import pytest
from playwright.sync_api import Page, expect

from referrals.models import Commission, Order
from tests.factories import PASSWORD, AdvocateFactory, RepCodeFactory

pytestmark = pytest.mark.e2e

SHOPPER_EMAIL = "sam@example.net"


@pytest.fixture
def anna(programme):
    advocate = AdvocateFactory(programme=programme, user__first_name="Anna")
    RepCodeFactory(advocate=advocate, code="ANNA20")
    return advocate


@pytest.fixture
def ben(programme):
    advocate = AdvocateFactory(programme=programme, user__first_name="Ben")
    RepCodeFactory(advocate=advocate, code="BEN20")
    return advocate


def log_in(page: Page, email: str) -> None:
    """Through the real allauth form, starting where a logged-out advocate would: the dashboard."""
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/account/login/\?next=/dashboard/"))
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))


def test_shopper_follows_a_link_pays_and_the_advocate_sees_the_pending_commission(
    new_page, live_server, campaign_page, anna, ben, tmp_path
):
    # The shopper follows Anna's link, typed in lower case.
    shopper = new_page()
    shopper.goto("/r/anna20")
    expect(shopper).to_have_url(re.compile(rf"{campaign_page.url}\?ref=ANNA20$"))
    expect(shopper.locator("#greeting-title")).to_have_text("Anna sent you 20% off")
    expect(shopper.locator("#greeting-code")).to_have_text("ANNA20")

    shopper.get_by_role("link", name="Shop with 20% off").click()
    expect(shopper).to_have_url(re.compile(r"/shop/$"))
    expect(shopper.get_by_role("status")).to_contain_text("Your friend’s code is saved")

    shopper.get_by_role("link", name="Buy Trail Runners").click()
    expect(shopper.get_by_label("Referral code")).to_have_value("ANNA20")  # from the cookie
    shopper.get_by_label("Email for the receipt").fill(SHOPPER_EMAIL)
    shopper.get_by_role("button", name="Review order").click()

    # The discount is on screen before anything is paid.
    expect(shopper.get_by_role("heading", level=1)).to_have_text("Review and pay")
    expect(shopper.locator(".summary-discount")).to_contain_text("Anna’s code ANNA20")
    expect(shopper.locator(".summary-discount")).to_contain_text("−€25.80")
    assert not Order.objects.exists()
    shopper.get_by_role("button", name="Pay €103.20").click()

    expect(shopper).to_have_url(re.compile(r"/shop/thanks/\?order=sandbox-"))
    order = Order.objects.get()
    assert order.rep_code.code == "ANNA20"
    assert (order.gross_amount, order.discount_amount, order.net_amount) == (12900, 2580, 10320)
    expect(shopper.get_by_role("heading", level=1)).to_have_text("Thank you — your order is in")
    expect(shopper.locator(".lead")).to_contain_text(order.external_id)
    expect(shopper.locator(".summary-total")).to_contain_text("€103.20")
    expect(shopper.get_by_text("Anna says thanks")).to_be_visible()

    commission = Commission.objects.get(order=order)
    assert (commission.advocate_id, commission.amount) == (anna.pk, 1032)
    assert commission.status == Commission.Status.PENDING

    # Anna, in her own browser, logs in and finds the referral with its pending commission.
    dashboard = new_page(clipboard=True)
    log_in(dashboard, anna.user.email)
    expect(dashboard.get_by_role("heading", level=1)).to_have_text("Hi Anna")
    row = dashboard.locator("table tbody tr").filter(has_text="ANNA20")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("€103.20")
    expect(row).to_contain_text("€10.32")
    expect(row.locator(".badge-pending")).to_have_text("Pending")
    expect(row).to_contain_text("Held until")
    held = dashboard.locator(".stat").filter(has_text="Held")
    expect(held.locator(".stat-value")).to_have_text("€10.32")

    # The copy button puts her share link on the clipboard.
    share_url = dashboard.locator("#share-url").input_value()
    assert share_url.endswith("/r/ANNA20")
    # Located by its target: the button's accessible name changes to "Copied!" when clicked.
    copy_link = dashboard.locator("button[data-copy-target=share-url]")
    expect(copy_link).to_have_text("Copy link")  # visible: the script un-hid it
    copy_link.click()
    expect(copy_link).to_contain_text("Copied!")
    assert dashboard.evaluate("navigator.clipboard.readText()") == share_url

    screenshot = tmp_path / "dashboard.png"
    dashboard.screenshot(path=screenshot, full_page=True)
    print(f"dashboard screenshot: {screenshot}")

    # Ben, another advocate in the same programme, sees none of it.
    other = new_page()
    log_in(other, ben.user.email)
    expect(other.get_by_role("heading", level=1)).to_have_text("Hi Ben")
    expect(other.get_by_role("heading", name="No referrals yet")).to_be_visible()
    expect(other.get_by_text("ANNA20")).to_have_count(0)
    expect(other.locator(".stat").filter(has_text="Held").locator(".stat-value")).to_have_text(
        "€0.00"
    )
