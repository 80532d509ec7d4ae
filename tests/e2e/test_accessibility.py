"""axe-core over our own public and advocate pages, at desktop and phone width, in their error
states too: no serious or critical finding anywhere (tests/e2e/axe.py says what that means)."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import path
from playwright.sync_api import Page, expect

from config.urls import urlpatterns as site_urlpatterns
from tests.e2e.axe import assert_no_serious_axe_findings
from tests.factories import PASSWORD, AdvocateFactory, RepCodeFactory

pytestmark = pytest.mark.e2e

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def _forbidden(request):
    raise PermissionDenied


# The site's URLs plus one page that refuses everyone, to look at the 403 page.
# (First: the site's last pattern is Wagtail's catch-all.)
urlpatterns = [path("forbidden-for-axe/", _forbidden), *site_urlpatterns]
handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"


def check_at_both_widths(page: Page) -> None:
    """The page as it stands, at desktop then phone width (reflowed, not reloaded)."""
    for size in WIDTHS.values():
        page.set_viewport_size(size)
        assert_no_serious_axe_findings(page)


@pytest.fixture
def anna(programme):
    advocate = AdvocateFactory(programme=programme, user__first_name="Anna")
    RepCodeFactory(advocate=advocate, code="ANNA20", is_vanity=True)
    return advocate


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/account/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_home_and_campaign_pages(new_page, campaign_page, anna):
    page = new_page()
    page.goto("/")
    check_at_both_widths(page)
    page.goto("/r/ANNA20")
    expect(page.locator("#greeting-code")).to_have_text("ANNA20")
    check_at_both_widths(page)


def test_shop_and_checkout_with_a_form_error(new_page, campaign_page, anna):
    page = new_page()
    page.goto("/r/ANNA20")
    page.goto("/shop/")
    check_at_both_widths(page)
    page.get_by_role("link", name="Buy Trail Runners").click()
    check_at_both_widths(page)
    page.get_by_label("Email for the receipt").fill("sam@example.net")
    page.get_by_label("Referral code").fill("NOSUCHCODE")
    page.get_by_role("button", name="Review order").click()
    expect(page.locator(".errorlist").first).to_be_visible()
    check_at_both_widths(page)


def test_login_with_a_wrong_password(new_page, anna):
    page = new_page()
    page.goto("/account/login/")
    check_at_both_widths(page)
    log_in(page, anna.user.email, password="not-the-password")
    expect(page.locator(".errorlist").first).to_be_visible()
    check_at_both_widths(page)


def test_signup_with_errors(new_page, db):
    page = new_page()
    page.goto("/account/signup/")
    check_at_both_widths(page)
    page.locator("input[name=first_name]").fill("Maya")
    page.locator("input[name=email]").fill("new.advocate@example.com")
    page.locator("input[name=password1]").fill("short")
    page.locator("input[name=password2]").fill("different")
    page.locator("main form button[type=submit]").last.click()
    expect(page.locator(".errorlist").first).to_be_visible()
    check_at_both_widths(page)


def test_dashboard_and_payout_settings_with_an_error(new_page, anna):
    page = new_page()
    log_in(page, anna.user.email)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    check_at_both_widths(page)
    page.goto("/dashboard/payouts/")
    check_at_both_widths(page)
    page.goto("/dashboard/payout-settings/")
    check_at_both_widths(page)
    page.locator("form.payout-form button[type=submit]").first.click()
    expect(page.locator(".errorlist").first).to_be_visible()
    check_at_both_widths(page)


def test_error_pages(new_page, settings, home_page, db):
    settings.ROOT_URLCONF = __name__
    settings.STREETTEAM_RATE_LIMITS = {"redirect_miss": "1/600"}
    page = new_page()

    page.goto("/no-such-page/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check_at_both_widths(page)

    page.goto("/forbidden-for-axe/")
    expect(page.get_by_role("heading", level=1)).to_have_text("You don’t have access to this page")
    check_at_both_widths(page)

    page.goto("/r/NOSUCH1")
    page.goto("/r/NOSUCH2")
    expect(page.get_by_role("heading", level=1)).to_have_text("Too many tries in a short time")
    check_at_both_widths(page)

    # A form posted without its CSRF token (as after a long-open page): our expired-form page.
    page.goto("/account/login/")
    page.evaluate(
        """() => {
            const form = document.querySelector("form[action*='login'], form");
            form.querySelector("input[name=csrfmiddlewaretoken]").remove();
            form.submit();
        }"""
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("This form has expired")
    check_at_both_widths(page)
