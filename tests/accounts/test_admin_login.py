"""One login: the Wagtail admin signs in and resets passwords only through allauth's pages, so
its throttles, lockout and email verification hold for managers too (issue #17, finding 3)."""

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("account_login")


@pytest.fixture
def staff(db):
    return UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)


def test_admin_login_is_allauths_login_page(client):
    response = client.get("/admin/login/?next=/admin/pages/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_URL}?next=/admin/pages/"


def test_a_password_posted_to_the_admin_login_opens_no_session(client, staff):
    response = client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    assert "_auth_user_id" not in client.session


def test_the_admin_sends_anonymous_visitors_to_allauths_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN_URL}?next=/admin/"


def test_forty_guesses_then_the_right_password_at_the_admin_login_open_nothing(client, staff):
    """40 wrong passwords at /admin/login/, then the right one, used to open the admin."""
    for attempt in range(40):
        client.post("/admin/login/", {"username": staff.email, "password": f"guess-{attempt}"})

    client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})

    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_the_same_guesses_at_the_one_login_form_are_throttled(client, staff):
    for attempt in range(40):
        client.post(LOGIN_URL, {"login": staff.email, "password": f"guess-{attempt}"})

    response = client.post(LOGIN_URL, {"login": staff.email, "password": PASSWORD})

    assert response.status_code == 429  # allauth's limits on failed logins
    assert "_auth_user_id" not in client.session


def test_a_few_wrong_passwords_lock_the_managers_account_from_any_address(client, staff):
    """Five failures within minutes lock the account itself (allauth's login_failed per key),
    whichever address the guesses come from."""
    for attempt in range(5):
        client.post(
            LOGIN_URL,
            {"login": staff.email, "password": f"guess-{attempt}"},
            REMOTE_ADDR=f"198.51.100.{attempt}",
        )

    response = client.post(
        LOGIN_URL, {"login": staff.email, "password": PASSWORD}, REMOTE_ADDR="203.0.113.9"
    )

    assert "Too many failed login attempts" in response.text
    assert "_auth_user_id" not in client.session


def test_an_unverified_manager_gets_no_admin_session(client):
    staff = UserFactory(is_staff=True, is_superuser=True, verified=False)
    # Wagtail's own form used to give an unverified account a session.
    client.post("/admin/login/", {"username": staff.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session

    response = client.post(
        f"{LOGIN_URL}?next=/admin/", {"login": staff.email, "password": PASSWORD}
    )
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/")["Location"].startswith(LOGIN_URL)


def test_a_verified_manager_signs_in_to_the_admin_through_allauth(client, staff):
    response = client.post(
        f"{LOGIN_URL}?next=/admin/", {"login": staff.email, "password": PASSWORD}
    )
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    "path", ["/admin/password_reset/", "/admin/password_reset/confirm/MQ/set-password/"]
)
def test_admin_password_reset_is_allauths_form(client, staff, path):
    response = client.post(path, {"email": staff.email})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password")
    assert mail.outbox == []


def test_password_reset_mails_are_limited(client, staff):
    for _ in range(30):
        client.post(reverse("account_reset_password"), {"email": staff.email})
    assert 1 <= len(mail.outbox) <= 5


def test_wagtails_own_password_and_email_forms_are_off(client, staff):
    """The admin's account page would change them without allauth's re-authentication."""
    client.force_login(staff)
    response = client.get(reverse("wagtailadmin_account"))
    assert response.status_code == 200
    assert 'name="password-new_password1"' not in response.text
    assert 'name="name_email-email"' not in response.text
