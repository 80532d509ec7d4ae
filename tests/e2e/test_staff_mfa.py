"""A manager signs in through allauth, is sent to set up an authenticator app before the admin,
and does so in a real browser: the MFA pages in the site's own design, with no Content-Security-
Policy violation, then the admin page first asked for opens (STREETTEAM_STAFF_MFA_REQUIRED on, as
in production)."""

import re
import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from playwright.sync_api import expect

from tests.factories import PASSWORD, UserFactory

from .test_content_security_policy import csp_errors, watched

pytestmark = pytest.mark.e2e


def test_manager_sets_up_an_authenticator_app_before_the_admin(new_page, settings, tmp_path):
    settings.STREETTEAM_STAFF_MFA_REQUIRED = True
    UserFactory(email="manager@example.com", is_staff=True, is_superuser=True)
    page = new_page()
    messages = watched(page)

    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/account/login/\?next=/admin/$"))
    page.locator("input[name=login]").fill("manager@example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # Not the admin yet: setting up a factor first asks for the password again.
    expect(page).to_have_url(re.compile(r"/account/reauthenticate/"))
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/account/2fa/totp/activate/$"))
    expect(page.locator("link[href*='streetteam']")).to_have_count(1)  # our stylesheet
    qr = page.locator("img[src^='data:image/svg+xml']")
    expect(qr).to_be_visible()
    page.screenshot(path=tmp_path / "1-activate.png", full_page=True)

    secret = qr.get_attribute("alt")  # allauth shows the secret as the QR code's text
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    page.locator("input[name=code]").fill(code)
    page.locator("form button[type=submit]").last.click()

    expect(page).to_have_url(re.compile(r"/account/2fa/recovery-codes/$"))
    page.screenshot(path=tmp_path / "2-recovery-codes.png", full_page=True)

    # Then back to the admin page first asked for.
    page.get_by_role("link", name="Continue to the admin").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    page.goto("/account/2fa/")
    page.screenshot(path=tmp_path / "3-index.png", full_page=True)
    assert csp_errors(messages) == []
