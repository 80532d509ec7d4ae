"""Staff set up an authenticator app (allauth.mfa, TOTP) before any admin page when
STREETTEAM_STAFF_MFA_REQUIRED is on, its default with DEBUG=false (issue #17, finding 3).
Advocates may add one from their account pages."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    TOTP,
    format_hotp_value,
    hotp_value,
)
from django.urls import reverse
from django.utils.html import escape

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

BASE_DIR = Path(__file__).resolve().parents[2]
LOGIN_URL = reverse("account_login")
SETUP_URL = reverse("mfa_activate_totp")
PRINT_SETTING = "from config import settings; print(settings.STREETTEAM_STAFF_MFA_REQUIRED)"


def totp_code(secret: str, *, periods_ago: int = 0) -> str:
    """The code an authenticator app shows now (allauth's own HOTP helpers)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30 - periods_ago))


@pytest.fixture
def mfa_required(settings):
    settings.STREETTEAM_STAFF_MFA_REQUIRED = True


@pytest.fixture
def staff(db):
    return UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)


def log_in(client, user):
    response = client.post(LOGIN_URL, {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return response


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/pages/", "/admin/referrals/payouts/", "/admin/nothing-here/"]
)
def test_staff_without_an_authenticator_are_sent_to_set_one_up(client, staff, mfa_required, path):
    log_in(client, staff)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == SETUP_URL


def test_staff_set_up_an_authenticator_and_then_open_the_admin(client, staff, mfa_required):
    log_in(client, staff)
    assert client.get("/admin/")["Location"] == SETUP_URL

    # Setting up a factor asks for the password again first.
    response = client.get(SETUP_URL)
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD, "next": SETUP_URL})
    assert client.get(SETUP_URL).status_code == 200
    secret = client.session[SECRET_SESSION_KEY]

    response = client.post(SETUP_URL, {"code": totp_code(secret, periods_ago=10)})
    assert response.status_code == 200  # a wrong code is a field error, not a factor
    assert not Authenticator.objects.filter(user=staff).exists()

    response = client.post(SETUP_URL, {"code": totp_code(secret)})
    assert response["Location"] == reverse("mfa_view_recovery_codes")
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()
    assert client.get("/admin/").status_code == 200


def test_after_setting_up_an_authenticator_staff_are_led_back_to_the_admin_page_they_asked_for(
    client, staff, mfa_required
):
    log_in(client, staff)
    asked_for = reverse("payouts:index") + "?status=approved"
    assert client.get(asked_for)["Location"] == SETUP_URL
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD, "next": SETUP_URL})
    client.get(SETUP_URL)
    secret = client.session[SECRET_SESSION_KEY]

    response = client.post(SETUP_URL, {"code": totp_code(secret)}, follow=True)

    # The recovery codes come first (they are shown once), then the way back.
    assert response.redirect_chain[-1][0] == reverse("mfa_view_recovery_codes")
    assert "Continue to the admin" in response.text
    assert f'href="{escape(asked_for)}"' in response.text
    assert client.get(asked_for).status_code == 200
    # Once back in the admin, the recovery codes page no longer offers the way back.
    assert "Continue to the admin" not in client.get(reverse("mfa_view_recovery_codes")).text


def test_the_recovery_codes_page_offers_no_way_to_the_admin_to_whom_was_not_sent(client):
    user = UserFactory()
    TOTP.activate(user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    client.force_login(user)
    assert "Continue to the admin" not in client.get(reverse("mfa_view_recovery_codes")).text


def test_the_admin_account_page_links_to_two_factor_settings(client, staff):
    client.force_login(staff)
    response = client.get(reverse("wagtailadmin_account"))
    assert response.status_code == 200
    assert f'href="{reverse("mfa_index")}"' in response.text
    assert "Two-factor authentication" in response.text


def test_staff_with_an_authenticator_need_its_code_to_sign_in(client, staff, mfa_required):
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    TOTP.activate(staff, secret)

    response = log_in(client, staff)
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/")["Location"].startswith(LOGIN_URL)

    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert client.get("/admin/").status_code == 200


def test_advocates_are_not_asked_for_a_second_factor(client, mfa_required):
    advocate = UserFactory()
    log_in(client, advocate)
    assert client.get(reverse("dashboard")).status_code == 200


def test_advocates_find_two_factor_authentication_in_their_account_pages(client):
    log_in(client, UserFactory())
    response = client.get(reverse("account_email"))
    assert f'href="{reverse("mfa_index")}"' in response.text
    response = client.get(reverse("mfa_index"))
    assert response.status_code == 200
    assert 'class="container account-layout"' in response.text  # our layout, not allauth's


def test_the_requirement_is_off_for_make_run_so_the_demo_manager_logs_in(client, staff):
    log_in(client, staff)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("debug", "override", "expected"),
    [("false", None, "True"), ("true", None, "False"), ("false", "false", "False")],
)
def test_the_requirement_defaults_to_on_in_production(debug, override, expected):
    env = {k: v for k, v in os.environ.items() if k != "STREETTEAM_STAFF_MFA_REQUIRED"}
    env.update(DEBUG=debug, SECRET_KEY="x" * 50, DJANGO_SETTINGS_MODULE="config.settings")
    if override is not None:
        env["STREETTEAM_STAFF_MFA_REQUIRED"] = override
    result = subprocess.run(  # noqa: S603 (this interpreter, our own settings module)
        [sys.executable, "-c", PRINT_SETTING],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == expected
