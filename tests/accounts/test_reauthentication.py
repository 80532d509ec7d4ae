"""A stolen session alone can't take an account over by its email addresses or password: each
change asks for the password again and is mailed to the address it moves away from (issue #17,
finding 5). The payout-details notice reaches every confirmed address of the account."""

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from advocacy.models import Advocate
from tests.factories import PASSWORD, AdvocateFactory

pytestmark = pytest.mark.django_db

EMAIL_URL = reverse("account_email")
REAUTH_URL = reverse("account_reauthenticate")
PAYOUT_URL = reverse("payout_settings")
ATTACKER = "attacker@evil.test"


@pytest.fixture
def victim(db):
    return AdvocateFactory(user__email="anna@example.com").user


@pytest.fixture
def stolen_session(client, victim):
    """The victim's session cookie in someone else's browser: logged in, no password typed."""
    client.force_login(victim)
    return client


def reauthenticate(client, next_url):
    response = client.post(REAUTH_URL, {"password": PASSWORD, "next": next_url})
    assert response.status_code == 302
    return response


def sent_to(address):
    return [message for message in mail.outbox if address in message.to]


def attacker_address(user, *, primary=False):
    """An address the attacker managed to add and confirm (the state after the earlier steps)."""
    if primary:
        EmailAddress.objects.filter(user=user).update(primary=False)
    return EmailAddress.objects.create(user=user, email=ATTACKER, verified=True, primary=primary)


def test_a_stolen_session_cannot_add_an_email_address(stolen_session, victim):
    response = stolen_session.post(EMAIL_URL, {"action_add": "", "email": ATTACKER})
    assert response["Location"].startswith(REAUTH_URL)
    assert not EmailAddress.objects.filter(email=ATTACKER).exists()
    assert mail.outbox == []


def test_adding_an_address_after_the_password_tells_the_old_one(stolen_session, victim):
    stolen_session.post(EMAIL_URL, {"action_add": "", "email": ATTACKER})
    reauthenticate(stolen_session, EMAIL_URL)  # allauth resumes the suspended POST

    assert EmailAddress.objects.filter(user=victim, email=ATTACKER, verified=False).exists()
    [notice] = sent_to("anna@example.com")
    assert ATTACKER in notice.body
    assert "added" in notice.subject


def test_a_stolen_session_cannot_make_another_address_primary(stolen_session, victim):
    attacker_address(victim)
    response = stolen_session.post(EMAIL_URL, {"action_primary": "", "email": ATTACKER})
    assert response["Location"].startswith(REAUTH_URL)
    assert EmailAddress.objects.get_primary_email(victim) == "anna@example.com"


def test_making_another_address_primary_is_mailed_to_the_old_one(stolen_session, victim):
    attacker_address(victim)
    stolen_session.post(EMAIL_URL, {"action_primary": "", "email": ATTACKER})
    reauthenticate(stolen_session, EMAIL_URL)

    victim.refresh_from_db()
    assert victim.email == ATTACKER
    [notice] = sent_to("anna@example.com")
    assert ATTACKER in notice.body


def test_a_stolen_session_cannot_remove_the_original_address(stolen_session, victim):
    attacker_address(victim, primary=True)
    response = stolen_session.post(EMAIL_URL, {"action_remove": "", "email": "anna@example.com"})
    assert response["Location"].startswith(REAUTH_URL)
    assert EmailAddress.objects.filter(user=victim, email="anna@example.com").exists()


def test_removing_an_address_is_mailed_to_the_removed_address_too(stolen_session, victim):
    """allauth mails the primary address, which here is the attacker's own."""
    attacker_address(victim, primary=True)
    stolen_session.post(EMAIL_URL, {"action_remove": "", "email": "anna@example.com"})
    reauthenticate(stolen_session, EMAIL_URL)

    assert not EmailAddress.objects.filter(user=victim, email="anna@example.com").exists()
    [notice] = sent_to("anna@example.com")
    assert "anna@example.com" in notice.body
    assert "removed" in notice.body


def test_a_stolen_session_cannot_change_the_password_and_a_change_is_mailed(stolen_session, victim):
    """allauth's password form is its own re-authentication: it asks for the current one."""
    url = reverse("account_change_password")
    new = "n3w-Passphrase!x"
    response = stolen_session.post(
        url, {"oldpassword": "a-guess", "password1": new, "password2": new}
    )
    assert response.status_code == 200
    assert "oldpassword" in response.context["form"].errors
    victim.refresh_from_db()
    assert victim.check_password(PASSWORD)

    stolen_session.post(url, {"oldpassword": PASSWORD, "password1": new, "password2": new})
    victim.refresh_from_db()
    assert victim.check_password(new)
    [notice] = sent_to("anna@example.com")
    assert "password" in notice.subject.lower()


def test_a_stolen_session_cannot_change_payout_details(stolen_session, victim):
    data = {"method": "paypal", "paypal_email": ATTACKER}
    response = stolen_session.post(PAYOUT_URL, data)
    assert response["Location"].startswith(REAUTH_URL)
    assert Advocate.objects.get(user=victim).payout_details == {}


def test_the_payout_details_notice_reaches_every_confirmed_address(
    client, victim, django_capture_on_commit_callbacks
):
    """Even after an address was added and made primary, the owner's other confirmed address
    hears of a change to where the money goes."""
    attacker_address(victim, primary=True)
    victim.email = ATTACKER
    victim.save(update_fields=["email"])
    EmailAddress.objects.create(user=victim, email="unconfirmed@example.com", verified=False)
    client.force_login(victim)
    client.get(PAYOUT_URL)
    reauthenticate(client, PAYOUT_URL)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(PAYOUT_URL, {"method": "paypal", "paypal_email": "pay@evil.test"})

    [notice] = [m for m in mail.outbox if "payout details" in m.subject]
    assert sorted(notice.to) == ["anna@example.com", ATTACKER]
