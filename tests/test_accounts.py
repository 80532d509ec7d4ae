"""Accounts: allauth with email login, mandatory verification and a first name."""

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PASSPHRASE = "a-long-Unusual-passphrase-42"


def signup(client, **overrides):
    data = {
        "email": "Maya.Fox@Example.com",
        "first_name": "  Maya ",
        "password1": PASSPHRASE,
        "password2": PASSPHRASE,
    }
    data.update(overrides)
    return client.post("/account/signup/", data)


def test_email_verification_is_mandatory():
    assert settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory"


def test_signup_creates_a_user_with_a_first_name_and_sends_a_verification_email(client):
    response = signup(client)
    assert response.status_code == 302
    user = User.objects.get()
    assert user.email == "maya.fox@example.com"
    assert user.first_name == "Maya"
    assert user.display_name == "Maya"
    address = EmailAddress.objects.get(user=user)
    assert not address.verified
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["maya.fox@example.com"]


def test_signup_needs_a_first_name(client):
    response = signup(client, first_name="")
    assert response.status_code == 200
    assert "first_name" in response.context["form"].errors
    assert not User.objects.exists()


def test_signup_with_a_taken_email_in_another_case_makes_no_second_user(client):
    UserFactory(email="maya.fox@example.com")
    signup(client, email="MAYA.FOX@example.com")
    assert User.objects.count() == 1


def test_unverified_user_cannot_log_in(client):
    signup(client)
    response = client.post(
        "/account/login/", {"login": "maya.fox@example.com", "password": PASSPHRASE}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


def test_verified_user_logs_in_with_their_email(client):
    user = UserFactory()
    response = client.post("/account/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_users_have_no_username_and_log_in_by_email():
    assert User.USERNAME_FIELD == "email"
    assert User.username is None
    assert User.REQUIRED_FIELDS == []


def test_emails_are_unique_whatever_the_case():
    UserFactory(email="sam@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email="SAM@example.com")


def test_manager_lower_cases_emails_and_requires_one():
    assert User.objects.create_user("Sam@Example.COM", "pw").email == "sam@example.com"
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user("", "pw")


def test_display_name_falls_back_to_the_email_name():
    assert User(email="kit@example.com", first_name="").display_name == "kit"
