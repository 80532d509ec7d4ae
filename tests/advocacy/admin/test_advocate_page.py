"""The advocate's page for managers: who they are, their codes and money, their payouts and
flags, and every decision about them, without another programme's data."""

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from referrals.models import Commission, FraudSignal, Order
from tests.advocacy.admin.conftest import IBAN
from tests.factories import (
    AdvocateFactory,
    FraudSignalFactory,
    PayoutFactory,
    ProgrammeFactory,
    RepCodeFactory,
    UserFactory,
    sale,
)

pytestmark = pytest.mark.django_db


def page(client, advocate) -> str:
    """The advocate's page, without the whitespace around tags nor the cells' classes."""
    response = client.get(reverse("advocates:inspect", args=[advocate.pk]))
    assert response.status_code == 200
    html = re.sub(r"\s*(<[^>]*>)\s*", r"\1", response.content.decode())
    return re.sub(r"<td [^>]*>", "<td>", html)


def test_the_page_shows_the_profile(client, manager, anna):
    html = page(client, anna)

    assert "Anna Jones" in html
    assert "anna@example.com" in html
    assert anna.programme.name in html
    assert "Active" in html
    assert anna.joined_at.strftime("%-d %b %Y") in html


def test_the_page_shows_the_figures_in_the_programmes_currency(client, manager, anna):
    html = page(client, anna)

    for label, value in [
        ("Clicks", "15"),
        ("Referred orders", "3"),
        ("Referred revenue", "€170.00"),
        ("Earned", "€17.00"),
        ("Reversed", "€5.00"),
        ("Paid out", "€0.00"),
        ("Balance", "€12.00"),
        ("Payable now", "€10.00"),
    ]:
        assert f"<dt>{label}</dt><dd>{value}</dd>" in html, label


def test_each_code_shows_its_clicks_sales_and_state(client, manager, anna):
    html = page(client, anna)

    # ANNA10: 12 clicks, 2 sales, active; OLDCODE99: 3 clicks, 1 sale, deactivated.
    assert (
        ">ANNA10</a></td><td>Instagram</td><td>Vanity</td><td>12</td><td>2</td><td>Active</td>"
        in html
    )
    assert (
        ">OLDCODE99</a></td><td>-</td><td>Random</td><td>3</td><td>1</td><td>Deactivated</td>"
        in html
    )


def test_the_page_links_to_the_vanity_code_form_preset_to_the_advocate(client, manager, anna):
    html = page(client, anna)

    url = reverse("rep_codes:add") + f"?advocate={anna.pk}"
    assert f'href="{url}"' in html
    assert client.get(url).context["form"].initial["advocate"] == str(anna.pk)


def test_recent_commissions_show_status_in_words_amount_and_link(client, manager, anna):
    html = page(client, anna)

    approved = Commission.objects.get(order__external_id="anna-order-a")
    assert "<td>anna-order-a</td><td>€10.00</td><td>Approved</td>" in html
    assert "<td>anna-order-b</td><td>€5.00</td><td>Reversed</td>" in html
    assert "<td>anna-order-c</td><td>€2.00</td><td>Pending</td>" in html
    assert reverse("commissions:inspect", args=[approved.pk]) in html


def test_payouts_show_status_amount_and_date(client, manager, anna):
    payout = PayoutFactory(advocate=anna, amount=1000, status="paid")

    html = page(client, anna)

    paid_on = payout.created_at.strftime("%-d %b %Y")
    assert f"<td>{paid_on}</td><td>€10.00</td><td>Paid</td>" in html
    assert reverse("payouts:payout", args=[payout.pk]) in html


def test_bank_details_are_masked(client, manager, anna):
    html = page(client, anna)

    assert "•••• 3000" in html
    assert "Anna Jones" in html
    assert IBAN not in html
    assert IBAN[:8] not in html


def test_a_paypal_address_is_masked(client, manager, anna):
    anna.payout_method = "paypal"
    anna.payout_details = {"email": "anna.private@paypal.example"}
    anna.save(update_fields=["payout_method", "payout_details"])

    html = page(client, anna)

    assert "a•••@paypal.example" in html
    assert "anna.private" not in html


def test_fraud_signals_on_their_orders_show_kind_and_state(client, manager, anna):
    order = Order.objects.get(external_id="anna-order-b")
    FraudSignalFactory(order=order, kind=FraudSignal.Kind.SELF_REFERRAL)

    html = page(client, anna)

    assert "Self-referral" in html
    assert "Open" in html


def staff_allowed(client, *codenames):
    """Signs in staff who may see advocates, and do `codenames` besides."""
    group = Group.objects.create(name="Advocate team")
    group.permissions.add(
        *Permission.objects.filter(
            codename__in=["access_admin", "view_advocate", "change_advocate", *codenames]
        )
    )
    user = UserFactory(is_staff=True)
    user.groups.add(group)
    client.force_login(user)
    return user


def test_a_manager_who_may_adjust_gets_the_bonus_button_preset_to_the_advocate(client, anna):
    staff_allowed(client, "add_adjustment")
    url = reverse("adjustments:create") + f"?advocate={anna.pk}"

    html = page(client, anna)

    assert f'href="{url}"' in html
    assert "Add a bonus or correction" in html
    assert client.get(url).context["form"].initial["advocate"] == str(anna.pk)


def test_without_the_adjustment_permission_there_is_no_bonus_button(client, anna):
    staff_allowed(client)

    html = page(client, anna)

    assert reverse("adjustments:create") not in html
    assert "Add a bonus or correction" not in html


def test_an_open_fraud_signal_links_to_its_resolve_page_and_back(client, anna):
    staff_allowed(client, "view_fraudsignal", "change_fraudsignal")
    order = Order.objects.get(external_id="anna-order-c")
    open_signal = FraudSignalFactory(order=order, kind=FraudSignal.Kind.SELF_REFERRAL)
    resolved = FraudSignalFactory(
        order=order, kind=FraudSignal.Kind.FAST_ORDER, resolved_at=timezone.now()
    )
    advocate_url = reverse("advocates:inspect", args=[anna.pk])

    html = page(client, anna)
    response = client.post(
        reverse("fraud_signals:resolve", args=[open_signal.pk]) + f"?next={advocate_url}",
        {"outcome": "dismiss", "reason": "A test order"},
    )

    resolve_url = reverse("fraud_signals:resolve", args=[open_signal.pk])
    assert f'href="{resolve_url}?next=' in html
    assert reverse("fraud_signals:resolve", args=[resolved.pk]) not in html
    assert response.status_code == 302
    assert response.url == advocate_url


def test_without_the_resolve_permission_fraud_signals_have_no_resolve_link(client, anna):
    staff_allowed(client, "view_fraudsignal")
    order = Order.objects.get(external_id="anna-order-c")
    FraudSignalFactory(order=order, kind=FraudSignal.Kind.SELF_REFERRAL)

    html = page(client, anna)

    assert "Self-referral" in html
    assert "/admin/fraud-signals/resolve/" not in html


def test_the_audit_trail_lists_decisions_about_the_advocate_and_their_money(client, manager, anna):
    html = page(client, anna)

    # The manager approved sale A's commission (the fixture); the refund reversed sale B's.
    assert "approved Anna&#x27;s €10.00 commission for order #anna-order-a." in html
    assert (
        "Anna&#x27;s €5.00 commission for order #anna-order-b was reversed after a refund." in html
    )
    assert "Looks fine." in html
    assert "manager@example.com" in html


def test_another_programmes_data_do_not_leak_in(client, manager, anna):
    other = AdvocateFactory(programme=ProgrammeFactory(), user=anna.user)
    other_code = RepCodeFactory(advocate=other, code="ELSEWHERE1")
    other_sale = sale(other_code, "other-order", 99900)
    FraudSignalFactory(order=other_sale.order, kind=FraudSignal.Kind.OFFER_REUSED)
    PayoutFactory(advocate=other, amount=77700)

    html = page(client, anna)

    assert "ELSEWHERE1" not in html
    assert "other-order" not in html
    assert "€777.00" not in html
    assert "Offer used again" not in html
    # Anna's own figures are unchanged by the other membership's sale.
    assert "<dt>Earned</dt><dd>€17.00</dd>" in html
    assert "<dt>Referred orders</dt><dd>3</dd>" in html


def test_an_advocate_without_activity_shows_empty_states(client, manager, programme):
    quiet = AdvocateFactory(programme=programme)

    html = page(client, quiet)

    assert "No commissions yet." in html
    assert "No payouts yet." in html
    assert "No fraud signals" in html
    assert "<dt>Balance</dt><dd>€0.00</dd>" in html


# Session, user, the advocate, codes, clicks, the figures (2), commissions, payouts, fraud
# signals, the audit trail, and Wagtail's own: the same for 1 sale or 6.
PAGE_QUERIES = 18


@pytest.mark.parametrize("sales", [1, 6])
def test_the_page_takes_the_same_number_of_queries_however_many_sales(
    client, manager, programme, django_assert_num_queries, sales
):
    advocate = AdvocateFactory(programme=programme)
    code = RepCodeFactory(advocate=advocate)
    for index in range(sales):
        result = sale(code, f"count-order-{index}", 1000)
        FraudSignalFactory(order=result.order)
        PayoutFactory(advocate=advocate)
    client.get(reverse("advocates:inspect", args=[advocate.pk]))  # warm Wagtail's caches

    with django_assert_num_queries(PAGE_QUERIES):
        client.get(reverse("advocates:inspect", args=[advocate.pk]))
