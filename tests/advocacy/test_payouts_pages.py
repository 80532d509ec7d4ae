"""The advocate's money pages: balance on the dashboard, payout history, payout details (behind
re-authentication, with a notice email) and the commissions CSV. Every page only ever shows the
signed-in advocate's own data."""

import csv
import io
from datetime import timedelta

import pytest
from allauth.account import app_settings as account_settings
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from advocacy.iban import mask_iban, normalise_iban, validate_iban
from advocacy.models import Advocate
from advocacy.services import advocate_payout_details_update
from kernel.errors import ServiceError
from referrals.models import Payout, PayoutBatch
from referrals.payouts import services as payouts
from referrals.services import commissions
from referrals.services.refunds import refund_record
from tests.factories import PASSWORD, AdvocateFactory, RepCodeFactory, UserFactory, sale

pytestmark = pytest.mark.django_db

VALID_IBAN = "DE89370400440532013000"
SETTINGS_URL = "/dashboard/payout-settings/"


def _sale(rep_code, external_id, gross, *, days_ago=0):
    return sale(rep_code, external_id, gross, timezone.now() - timedelta(days=days_ago))


@pytest.fixture
def manager(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def password_login(client):
    """Log in through allauth's own login form, so allauth records when (and how) it happened,
    as it does for a real person."""

    def _login(user, *, minutes_ago: float = 0):
        response = client.post(
            reverse("account_login"), {"login": user.email, "password": PASSWORD}
        )
        assert response.status_code == 302
        if minutes_ago:
            session = client.session
            records = session[AUTHENTICATION_METHODS_SESSION_KEY]
            for record in records:
                record["at"] -= minutes_ago * 60
            session[AUTHENTICATION_METHODS_SESSION_KEY] = records
            session.save()
        return client

    return _login


def _payout(advocate, amount, status, *, ref="", reason="", manager=None):
    """A payout row as the payout services leave it (for display tests)."""
    batch = PayoutBatch.objects.create(
        programme=advocate.programme, currency="EUR", status=PayoutBatch.Status.EXECUTING
    )
    return Payout.objects.create(
        batch=batch,
        advocate=advocate,
        currency="EUR",
        amount=amount,
        status=status,
        external_ref=ref,
        failure_reason=reason,
        paid_at=timezone.now() if status == Payout.Status.PAID else None,
    )


def _paid_out(rep_code, manager, *, external_id="paid", gross=30000, reference="BANK-REF-1"):
    """A sale past its hold, approved, gathered into a manual batch and marked paid."""
    result = _sale(rep_code, external_id, gross, days_ago=45)
    commissions.commission_approve(commission_id=result.commission.pk, actor=manager)
    batch = payouts.payout_batch_build(programme_id=rep_code.advocate.programme_id, actor=manager)
    payouts.payout_batch_approve(batch_id=batch.pk, actor=manager, password=PASSWORD)
    payouts.payout_batch_execute(batch_id=batch.pk, actor=manager)
    return payouts.payout_mark_paid(
        payout_id=batch.payouts.get().pk, actor=manager, reference=reference
    )


def _csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


# ------------------------------------------------------------ access


@pytest.mark.parametrize("url", ["/dashboard/payouts/", SETTINGS_URL, "/dashboard/commissions.csv"])
def test_pages_require_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_user_without_a_programme_is_sent_to_the_dashboard(client, password_login):
    password_login(UserFactory())
    assert client.get(reverse("payout_history"))["Location"] == reverse("dashboard")
    assert client.get(reverse("payout_settings"))["Location"] == reverse("dashboard")
    assert client.get(reverse("commissions_csv")).status_code == 404


# ------------------------------------------------------------ dashboard


def test_dashboard_shows_balance_by_status_from_the_ledger(client, login, rep_code, manager):
    rep_code.advocate.programme.payout_threshold = 2000
    rep_code.advocate.programme.save()
    _paid_out(rep_code, manager, gross=30000)  # 3000 paid out
    _sale(rep_code, "held", 10000)  # 1000 held
    approved = _sale(rep_code, "approved", 5000, days_ago=40)  # 500 approved
    commissions.commission_approve(commission_id=approved.commission.pk, actor=manager)
    refunded = _sale(rep_code, "refunded", 4000)  # 400 held, then half refunded: 200 reversed
    refund_record(order=refunded.order, external_id="re-1", amount=2000)

    login(rep_code.advocate.user)
    response = client.get(reverse("dashboard"))

    balance = response.context["balance"]
    assert (balance.held, balance.payable, balance.paid_out, balance.reversed) == (
        1200,
        500,
        3000,
        200,
    )
    text = response.text
    assert "€12.00" in text  # held
    assert "€30.00" in text  # paid out
    assert "€2.00 was taken back after refunds or disputes" in text
    # 500 payable, below the 2000 threshold: the hint says how far there is to go.
    assert "€15.00</strong> more approved and you reach the €20.00 minimum payout" in text


def test_dashboard_says_what_goes_into_the_next_payout(client, login, rep_code, manager):
    advocate_payout_details_update(
        advocate=rep_code.advocate, method="bank", account_holder="Anna A", iban=VALID_IBAN
    )
    result = _sale(rep_code, "big", 50000, days_ago=40)
    commissions.commission_approve(commission_id=result.commission.pk, actor=manager)

    login(rep_code.advocate.user)
    text = client.get(reverse("dashboard")).text

    assert "€50.00</strong> goes into your next payout, to IBAN •••• 3000" in text
    assert VALID_IBAN not in text
    assert 'href="/dashboard/payout-settings/?programme=' in text
    assert 'href="/dashboard/payouts/?programme=' in text
    assert 'href="/dashboard/commissions.csv?programme=' in text


def test_dashboard_warns_when_no_payout_details_are_set(client, login, rep_code):
    login(rep_code.advocate.user)
    assert "Add your payout details" in client.get(reverse("dashboard")).text


def test_dashboard_balance_ignores_other_advocates_money(client, login, rep_code, manager):
    other = RepCodeFactory(advocate=AdvocateFactory(programme=rep_code.advocate.programme))
    _paid_out(other, manager, gross=43210)
    _sale(other, "theirs-held", 12340)

    login(rep_code.advocate.user)
    balance = client.get(reverse("dashboard")).context["balance"]

    assert (balance.held, balance.payable, balance.paid_out, balance.in_flight) == (0, 0, 0, 0)


def test_dashboard_query_count_stays_fixed_as_payouts_grow(client, login, rep_code):
    login(rep_code.advocate.user)
    _payout(rep_code.advocate, 100, Payout.Status.PAID)
    _sale(rep_code, "first", 1000)
    client.get(reverse("dashboard"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("dashboard"))
    for n in range(10):
        _payout(rep_code.advocate, 100 + n, Payout.Status.PAID)
        _sale(rep_code, f"more-{n}", 1000)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("dashboard"))
    assert len(many) == len(few)


# ------------------------------------------------------------ payout history


def test_payout_history_lists_each_payout_with_status_reference_and_reason(client, login, advocate):
    _payout(advocate, 4321, Payout.Status.PAID, ref="SEPA-REF-77")
    _payout(advocate, 1500, Payout.Status.FAILED, reason="The bank rejected the IBAN.")
    _payout(advocate, 2500, Payout.Status.PENDING)
    _payout(advocate, 3500, Payout.Status.PROCESSING)

    login(advocate.user)
    response = client.get(reverse("payout_history"))

    assert response.status_code == 200
    text = response.text
    for shown in (
        "€43.21",
        "SEPA-REF-77",
        "€15.00",
        "The bank rejected the IBAN.",
        "€25.00",
        "€35.00",
        "badge-paid",
        "badge-error",
        "badge-pending",
        ">Processing<",
        ">Failed<",
    ):
        assert shown in text
    assert [p.amount for p in response.context["page"].object_list] == [3500, 2500, 1500, 4321]


def test_payout_history_shows_a_real_manual_payout(client, login, rep_code, manager):
    _paid_out(rep_code, manager, gross=30000, reference="BANK-REF-1")
    login(rep_code.advocate.user)
    text = client.get(reverse("payout_history")).text
    assert "BANK-REF-1" in text
    assert "€30.00" in text


def test_payout_history_never_shows_another_advocates_payouts(client, login, advocate):
    other = AdvocateFactory(programme=advocate.programme)
    _payout(other, 98765, Payout.Status.PAID, ref="THEIR-REF")
    _payout(other, 1111, Payout.Status.FAILED, reason="Their bank said no.")
    elsewhere = AdvocateFactory()  # another programme, another person
    _payout(elsewhere, 5555, Payout.Status.PAID, ref="ELSEWHERE-REF")

    login(advocate.user)
    # Asking for a programme the user isn't in falls back to their own membership.
    response = client.get(reverse("payout_history"), {"programme": elsewhere.programme.slug})

    assert response.context["advocate"] == advocate
    for hidden in ("THEIR-REF", "€987.65", "Their bank said no.", "ELSEWHERE-REF", "€55.55"):
        assert hidden not in response.text
    assert "No payouts yet" in response.text


def test_payout_history_follows_the_programme_switcher(client, login, advocate):
    second = AdvocateFactory(user=advocate.user)
    _payout(advocate, 1234, Payout.Status.PAID, ref="FIRST")
    _payout(second, 4321, Payout.Status.PAID, ref="SECOND")

    login(advocate.user)
    response = client.get(reverse("payout_history"), {"programme": second.programme.slug})

    assert "SECOND" in response.text
    assert "FIRST" not in response.text


# ------------------------------------------------------------ re-authentication


def test_payout_settings_needs_a_recent_password(client, login, advocate):
    """Logged in, but allauth has no record of a recent password: re-authenticate first."""
    login(advocate.user)
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert "next=%2Fdashboard%2Fpayout-settings%2F" in response["Location"]


def test_a_fresh_password_login_counts_as_recent(client, password_login, advocate):
    password_login(advocate.user)
    assert client.get(SETTINGS_URL).status_code == 200


def test_a_login_older_than_the_window_must_reauthenticate(client, password_login, advocate):
    window_minutes = account_settings.REAUTHENTICATION_TIMEOUT / 60
    password_login(advocate.user, minutes_ago=window_minutes + 1)

    response = client.get(SETTINGS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))

    # Saving waits for the password too: nothing changes yet.
    response = client.post(SETTINGS_URL, {"method": "paypal", "paypal_email": "me@example.com"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    advocate.refresh_from_db()
    assert advocate.payout_method == ""

    # With the password, allauth completes the suspended save, and the page opens again.
    response = client.post(
        reverse("account_reauthenticate"), {"password": PASSWORD, "next": SETTINGS_URL}
    )
    assert response.status_code == 302
    advocate.refresh_from_db()
    assert advocate.payout_details == {"email": "me@example.com"}
    assert client.get(SETTINGS_URL).status_code == 200


def test_a_wrong_password_does_not_reauthenticate(client, password_login, advocate):
    password_login(advocate.user, minutes_ago=60)
    client.post(reverse("account_reauthenticate"), {"password": "not-it", "next": SETTINGS_URL})
    assert client.get(SETTINGS_URL).status_code == 302


# ------------------------------------------------------------ payout details


def test_saving_a_bank_account_stores_it_normalised_and_shows_it_masked(
    client, password_login, advocate, django_capture_on_commit_callbacks
):
    password_login(advocate.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            SETTINGS_URL,
            {
                "method": "bank",
                "account_holder": "  Anna   Example ",
                "iban": "de89 3704 0044 0532 0130 00",
            },
            follow=True,
        )

    assert response.status_code == 200
    advocate.refresh_from_db()
    assert advocate.payout_method == Advocate.PayoutMethod.BANK
    assert advocate.payout_details == {"account_holder": "Anna Example", "iban": VALID_IBAN}
    assert "•••• 3000" in response.text
    assert VALID_IBAN not in response.text
    assert "DE89 3704" not in response.text  # not even as the field's value
    assert "Your payout details are saved" in response.text
    dashboard = client.get(reverse("dashboard")).text
    assert "IBAN •••• 3000" in dashboard
    assert VALID_IBAN not in dashboard


@pytest.mark.parametrize(
    ("iban", "message"),
    [
        ("DE89370400440532013001", "check digits don"),  # one digit wrong: mod-97 fails
        ("DE8937040044053201300", "has 22 characters; this one has 21"),
        ("89DE370400440532013000", "starts with a two-letter country code"),
        ("DE89 3704 0044 0532 0130 0!", "letters and digits only"),
    ],
)
def test_an_invalid_iban_is_a_field_error_with_status_400(
    client, password_login, advocate, iban, message, django_capture_on_commit_callbacks
):
    password_login(advocate.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            SETTINGS_URL, {"method": "bank", "account_holder": "Anna", "iban": iban}
        )

    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == ["iban"]
    assert message in form.errors["iban"][0]
    assert 'id="id_iban_error"' in response.text
    assert 'aria-invalid="true"' in response.text
    advocate.refresh_from_db()
    assert (advocate.payout_method, advocate.payout_details) == ("", {})
    assert mail.outbox == []


def test_bank_needs_a_holder_and_an_iban(client, password_login, advocate):
    password_login(advocate.user)
    response = client.post(SETTINGS_URL, {"method": "bank", "account_holder": " ", "iban": ""})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"account_holder", "iban"}


def test_a_method_must_be_chosen(client, password_login, advocate):
    password_login(advocate.user)
    response = client.post(SETTINGS_URL, {})
    assert response.status_code == 400
    assert "Choose how you want to be paid." in response.text


def test_an_empty_iban_keeps_the_one_on_file(
    client, password_login, advocate, django_capture_on_commit_callbacks
):
    advocate_payout_details_update(
        advocate=advocate, method="bank", account_holder="Anna", iban=VALID_IBAN
    )
    password_login(advocate.user)
    page = client.get(SETTINGS_URL)
    assert "We have IBAN •••• 3000 on file" in page.text

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            SETTINGS_URL, {"method": "bank", "account_holder": "Anna Example", "iban": ""}
        )

    assert response.status_code == 302
    advocate.refresh_from_db()
    assert advocate.payout_details == {"account_holder": "Anna Example", "iban": VALID_IBAN}


def test_paypal_needs_a_valid_email(client, password_login, advocate):
    password_login(advocate.user)
    response = client.post(SETTINGS_URL, {"method": "paypal", "paypal_email": "not-an-email"})
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["paypal_email"]


def test_switching_to_paypal_forgets_the_iban(client, password_login, advocate):
    advocate_payout_details_update(
        advocate=advocate, method="bank", account_holder="Anna", iban=VALID_IBAN
    )
    password_login(advocate.user)
    response = client.post(
        SETTINGS_URL,
        {"method": "paypal", "paypal_email": "Anna@Example.COM", "iban": "ignored"},
    )
    assert response.status_code == 302
    advocate.refresh_from_db()
    assert advocate.payout_method == "paypal"
    assert advocate.payout_details == {"email": "Anna@example.com"}


def test_stripe_connect_can_be_chosen_and_is_explained(client, password_login, advocate):
    password_login(advocate.user)
    page = client.get(SETTINGS_URL)
    assert "Your Stripe account" in page.text  # onboarding: tests/referrals/test_stripe_connect.py

    response = client.post(SETTINGS_URL, {"method": "stripe_connect"}, follow=True)

    advocate.refresh_from_db()
    assert (advocate.payout_method, advocate.payout_details) == ("stripe_connect", {})
    assert "Stripe Connect" in response.text
    dashboard = client.get(reverse("dashboard")).text
    assert "Your Stripe account isn&rsquo;t connected yet" in dashboard


def test_saving_only_changes_the_signed_in_advocates_details(client, password_login, advocate):
    other = AdvocateFactory(
        programme=advocate.programme,
        payout_method="paypal",
        payout_details={"email": "other@example.com"},
    )
    elsewhere = AdvocateFactory()
    password_login(advocate.user)

    response = client.post(
        f"{SETTINGS_URL}?programme={elsewhere.programme.slug}",
        {"method": "paypal", "paypal_email": "me@example.com"},
    )

    assert response.status_code == 302
    advocate.refresh_from_db()
    other.refresh_from_db()
    elsewhere.refresh_from_db()
    assert advocate.payout_details == {"email": "me@example.com"}
    assert other.payout_details == {"email": "other@example.com"}
    assert elsewhere.payout_method == ""


def test_the_settings_page_never_shows_another_advocates_details(client, password_login, advocate):
    AdvocateFactory(
        programme=advocate.programme,
        payout_method="bank",
        payout_details={"account_holder": "Somebody Else", "iban": "GB82WEST12345698765432"},
    )
    password_login(advocate.user)
    text = client.get(SETTINGS_URL).text
    assert "Somebody Else" not in text
    assert "5432" not in text


# ------------------------------------------------------------ notice email


def test_a_change_emails_the_advocate_a_notice(
    client, password_login, advocate, django_capture_on_commit_callbacks
):
    password_login(advocate.user)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(SETTINGS_URL, {"method": "bank", "account_holder": "Anna", "iban": VALID_IBAN})

    assert len(callbacks) == 1
    [message] = mail.outbox
    assert message.to == [advocate.user.email]
    assert message.subject == f"Your payout details were changed · {advocate.programme.name}"
    assert "If this wasn't you" in message.body
    assert "IBAN •••• 3000" in message.body
    assert VALID_IBAN not in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert "IBAN •••• 3000" in html
    assert VALID_IBAN not in html


def test_saving_the_same_details_again_sends_nothing(
    client, password_login, advocate, django_capture_on_commit_callbacks
):
    advocate_payout_details_update(
        advocate=advocate, method="paypal", paypal_email="anna@example.com"
    )
    password_login(advocate.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            SETTINGS_URL, {"method": "paypal", "paypal_email": "anna@example.com"}, follow=True
        )
    assert mail.outbox == []
    assert "Nothing changed" in response.text


def test_no_email_is_sent_when_the_transaction_rolls_back(
    advocate, django_capture_on_commit_callbacks
):
    """The email goes out on commit: a change that never commits never announces itself."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        advocate_payout_details_update(
            advocate=advocate, method="paypal", paypal_email="anna@example.com"
        )
    assert len(callbacks) == 1
    assert mail.outbox == []


# ------------------------------------------------------------ service and IBAN


def test_service_refuses_an_invalid_iban_with_the_field_named(advocate):
    with pytest.raises(ServiceError) as excinfo:
        advocate_payout_details_update(
            advocate=advocate, method="bank", account_holder="Anna", iban="DE00123"
        )
    assert excinfo.value.field == "iban"


def test_service_refuses_an_unknown_method(advocate):
    with pytest.raises(ServiceError) as excinfo:
        advocate_payout_details_update(advocate=advocate, method="cash")
    assert excinfo.value.code == "payout_method_invalid"


def test_service_takes_keyword_arguments_only(advocate):
    with pytest.raises(TypeError):
        advocate_payout_details_update(advocate, "paypal")  # type: ignore[misc]


@pytest.mark.parametrize(
    "iban",
    [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "NL91ABNA0417164300",
        "FR1420041010050500013M02606",
        "BE68539007547034",
        "NO9386011117947",
        "CH9300762011623852957",
        "IBAN AT61 1904 3002 3457 3201",
    ],
)
def test_valid_ibans_pass(iban):
    assert validate_iban(iban) == normalise_iban(iban)


def test_mask_shows_only_the_last_four():
    assert mask_iban(VALID_IBAN) == "•••• 3000"


# ------------------------------------------------------------ CSV


def test_commissions_csv_has_the_advocates_rows(client, login, rep_code, manager):
    first = _sale(rep_code, "=HYPERLINK(evil)", 12900, days_ago=40)
    commissions.commission_approve(commission_id=first.commission.pk, actor=manager)
    second = _sale(rep_code, "order-2", 5000, days_ago=1)  # pending: held for 30 days

    login(rep_code.advocate.user)
    response = client.get(reverse("commissions_csv"))

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    programme = rep_code.advocate.programme
    assert response["Content-Disposition"] == (
        f'attachment; filename="streetteam-{programme.slug}-commissions-'
        f'{timezone.localdate():%Y-%m-%d}.csv"'
    )
    header, *rows = _csv_rows(response)
    assert header == [
        "date",
        "order_id",
        "order_net_amount",
        "commission",
        "currency",
        "status",
        "held_until",
    ]
    local = timezone.localtime
    assert rows == [
        [
            local(first.order.placed_at).date().isoformat(),
            "'=HYPERLINK(evil)",  # never a formula in a spreadsheet
            "129.00",
            "12.90",
            "EUR",
            "approved",
            local(first.commission.hold_until).date().isoformat(),
        ],
        [
            local(second.order.placed_at).date().isoformat(),
            "order-2",
            "50.00",
            "5.00",
            "EUR",
            "pending",
            local(second.commission.hold_until).date().isoformat(),
        ],
    ]


def test_commissions_csv_never_contains_another_advocates_commissions(
    client, login, rep_code, other_rep_code
):
    _sale(rep_code, "mine", 1000)
    _sale(other_rep_code, "theirs", 2000)
    elsewhere = RepCodeFactory()
    _sale(elsewhere, "elsewhere", 3000)

    login(rep_code.advocate.user)
    response = client.get(
        reverse("commissions_csv"), {"programme": elsewhere.advocate.programme.slug}
    )

    _, *rows = _csv_rows(response)
    assert [row[1] for row in rows] == ["mine"]


def test_fields_of_a_method_not_chosen_are_ignored(client, password_login, advocate):
    password_login(advocate.user)
    response = client.post(
        SETTINGS_URL,
        {"method": "bank", "account_holder": "Anna", "iban": VALID_IBAN, "paypal_email": "x@"},
    )
    assert response.status_code == 302
    advocate.refresh_from_db()
    assert advocate.payout_details == {"account_holder": "Anna", "iban": VALID_IBAN}
