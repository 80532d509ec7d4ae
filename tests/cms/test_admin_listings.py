"""Programme managers' listings in the Wagtail admin (advocacy/ and referrals/wagtail_hooks.py)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from wagtail import hooks
from wagtail.permissions import policy_registry

from accounts.models import User
from advocacy.models import Advocate, Programme, RepCode
from kernel.errors import ServiceError
from referrals.models import Attribution, Commission, FraudSignal, LedgerEntry, Order
from tests.factories import (
    PASSWORD,
    AdvocateFactory,
    OrderFactory,
    ProgrammeFactory,
    RepCodeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LISTINGS = [
    "programmes:index",
    "advocates:index",
    "rep_codes:index",
    "orders:index",
    "commissions:index",
    "fraud_signals:index",
    "ledger:index",
]
READ_ONLY = ["orders", "commissions", "fraud_signals", "ledger"]


@pytest.fixture
def manager(client):
    user = User.objects.create_superuser(email="manager@example.com", password=PASSWORD)
    client.force_login(user)
    return user


@pytest.fixture
def sale(rep_code):
    """A referred order with its commission, a fraud signal and the ledger entry it earned."""
    advocate = rep_code.advocate
    order = OrderFactory(
        external_id="pi_FINDME123",
        programme=advocate.programme,
        rep_code=rep_code,
        advocate=advocate,
        attribution=Attribution.CODE,
        gross_amount=10000,
        discount_amount=1000,
    )
    commission = Commission.objects.create(
        order=order,
        advocate=advocate,
        currency="EUR",
        base_amount=9000,
        amount=900,
        hold_until=timezone.now() + timedelta(days=30),
    )
    signal = FraudSignal.objects.create(
        kind=FraudSignal.Kind.SELF_REFERRAL, order=order, advocate=advocate, detail="same email"
    )
    entry = LedgerEntry.objects.create(
        advocate=advocate,
        currency="EUR",
        amount=900,
        kind=LedgerEntry.Kind.EARNED,
        reference=f"commission:{commission.pk}",
        commission=commission,
    )
    return {"order": order, "commission": commission, "signal": signal, "entry": entry}


def rows(response) -> str:
    return response.content.decode()


# ------------------------------------------------------------------------------
# Listings, search and filters


@pytest.mark.parametrize("url_name", LISTINGS)
def test_each_listing_loads_for_a_manager(client, manager, sale, url_name):
    response = client.get(reverse(url_name))

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("url_name", "key"),
    [
        ("orders:inspect", "order"),
        ("commissions:inspect", "commission"),
        ("fraud_signals:inspect", "signal"),
        ("ledger:inspect", "entry"),
    ],
)
def test_read_only_rows_can_be_inspected(client, manager, sale, url_name, key):
    response = client.get(reverse(url_name, args=[sale[key].pk]))

    assert response.status_code == 200


def test_order_listing_shows_money_in_the_order_currency(client, manager, sale):
    response = client.get(reverse("orders:index"))

    assert "pi_FINDME123" in rows(response)
    assert "€90.00" in rows(response)  # net = 100.00 gross - 10.00 discount
    assert sale["order"].advocate.user.email in rows(response)


def test_order_inspect_page_formats_amounts_and_lists_commissions(client, manager, sale):
    response = client.get(reverse("orders:inspect", args=[sale["order"].pk]))

    assert "€100.00" in rows(response)
    assert "€9.00 to " in rows(response)


def test_order_search_finds_an_order_by_external_id(client, manager, sale):
    OrderFactory(external_id="pi_SOMEONE_ELSE")

    response = client.get(reverse("orders:index"), {"q": "findme"})

    assert "pi_FINDME123" in rows(response)
    assert "pi_SOMEONE_ELSE" not in rows(response)


def test_order_search_finds_an_order_by_rep_code(client, manager, sale):
    OrderFactory(external_id="pi_SOMEONE_ELSE")

    response = client.get(reverse("orders:index"), {"q": sale["order"].rep_code.code.lower()})

    assert "pi_FINDME123" in rows(response)
    assert "pi_SOMEONE_ELSE" not in rows(response)


def test_order_listing_filters_by_status_and_programme(client, manager, sale):
    other = OrderFactory(external_id="pi_REFUNDED", status=Order.Status.REFUNDED)

    by_status = client.get(reverse("orders:index"), {"status": "refunded"})
    by_programme = client.get(reverse("orders:index"), {"programme": sale["order"].programme_id})

    assert other.external_id in rows(by_status)
    assert "pi_FINDME123" not in rows(by_status)
    assert "pi_FINDME123" in rows(by_programme)
    assert other.external_id not in rows(by_programme)


def test_commission_search_by_advocate_email_and_filter_by_programme(client, manager, sale):
    email = sale["commission"].advocate.user.email
    elsewhere = ProgrammeFactory()

    found = client.get(reverse("commissions:index"), {"q": email})
    filtered_out = client.get(reverse("commissions:index"), {"programme": elsewhere.pk})

    assert "pi_FINDME123" in rows(found)
    assert "€9.00" in rows(found)
    assert "pi_FINDME123" not in rows(filtered_out)


def test_advocate_search_finds_an_advocate_by_email(client, manager, advocate):
    other = AdvocateFactory(programme=advocate.programme)

    response = client.get(reverse("advocates:index"), {"q": advocate.user.email.upper()})

    assert advocate.user.email in rows(response)
    assert other.user.email not in rows(response)


def test_advocate_search_by_code_lists_the_advocate_once(client, manager, advocate):
    RepCodeFactory(advocate=advocate, code="ANNA10")
    RepCodeFactory(advocate=advocate, code="ANNA20")

    response = client.get(reverse("advocates:index"), {"q": "anna"})

    assert response.context["object_list"].count() == 1
    assert "ANNA10" in rows(response)


def test_advocate_listing_filters_by_programme_and_status(client, manager, advocate):
    paused = AdvocateFactory(status=Advocate.Status.PAUSED)

    by_programme = client.get(reverse("advocates:index"), {"programme": advocate.programme_id})
    by_status = client.get(reverse("advocates:index"), {"status": "paused"})

    assert list(by_programme.context["object_list"]) == [advocate]
    assert list(by_status.context["object_list"]) == [paused]


def test_rep_code_search_and_active_filter(client, manager, advocate):
    active = RepCodeFactory(advocate=advocate, code="SPRING10")
    retired = RepCodeFactory(advocate=advocate, code="SPRING20", is_active=False)

    searched = client.get(reverse("rep_codes:index"), {"q": "spring"})
    inactive = client.get(reverse("rep_codes:index"), {"is_active": "false"})

    assert set(searched.context["object_list"]) == {active, retired}
    assert list(inactive.context["object_list"]) == [retired]


def test_orders_export_as_csv(client, manager, sale):
    response = client.get(reverse("orders:index"), {"export": "csv"})

    assert response.status_code == 200
    assert b"pi_FINDME123" in b"".join(response.streaming_content)


# ------------------------------------------------------------------------------
# Who may see the admin


def test_a_non_staff_user_is_redirected_away(client):
    client.force_login(UserFactory())

    response = client.get(reverse("orders:index"))

    assert response.status_code == 302
    assert reverse("orders:index") not in response["Location"].split("?")[0]


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(reverse("advocates:index"))

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_a_manager_needs_the_view_permission_for_read_only_listings(client):
    group = Group.objects.create(name="Support")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    user = UserFactory(is_staff=True)
    user.groups.add(group)
    client.force_login(user)

    denied = client.get(reverse("orders:index"))
    group.permissions.add(Permission.objects.get(codename="view_order"))
    user = User.objects.get(pk=user.pk)  # drop the cached permissions
    client.force_login(user)
    allowed = client.get(reverse("orders:index"))

    assert denied.status_code != 200
    assert allowed.status_code == 200


# ------------------------------------------------------------------------------
# What may not be done


@pytest.mark.parametrize("name", READ_ONLY)
def test_read_only_models_route_no_add_edit_or_delete(name):
    for view in ("add", "edit", "delete", "copy"):
        with pytest.raises(NoReverseMatch):
            reverse(f"{name}:{view}", args=[] if view == "add" else [1])


@pytest.mark.parametrize("prefix", ["orders", "commissions", "fraud-signals", "ledger"])
def test_write_urls_of_read_only_models_are_not_found(client, manager, sale, prefix):
    for path in ("new/", "edit/1/", "delete/1/"):
        assert client.get(f"/admin/{prefix}/{path}").status_code == 404
        assert client.post(f"/admin/{prefix}/{path}").status_code == 404


def test_read_only_listings_offer_no_add_or_delete_buttons(client, manager, sale):
    response = client.get(reverse("orders:index"))

    assert "Add programme" in rows(client.get(reverse("programmes:index")))
    assert "Add order" not in rows(response)
    assert "/admin/orders/delete/" not in rows(response)
    assert reverse("orders:inspect", args=[sale["order"].pk]) in rows(response)


@pytest.mark.parametrize("model", [Order, Commission, FraudSignal, LedgerEntry])
def test_policy_refuses_writes_even_to_superusers(manager, model):
    policy = policy_registry.get_by_type(model)

    assert policy.user_has_permission(manager, "view")
    for action in ("add", "change", "delete"):
        assert not policy.user_has_permission(manager, action)


def test_rep_codes_and_advocates_cannot_be_deleted_and_advocates_not_added(client, manager):
    rep = RepCodeFactory()

    assert client.get(f"/admin/rep-codes/delete/{rep.pk}/").status_code == 404
    assert client.get(f"/admin/advocates/delete/{rep.advocate.pk}/").status_code == 404
    assert client.get("/admin/advocates/new/").status_code == 404
    assert "Add advocate" not in rows(client.get(reverse("advocates:index")))
    assert not policy_registry.get_by_type(RepCode).user_has_permission(manager, "delete")


def test_groups_are_offered_only_the_permissions_that_do_something(client, manager):
    codenames = {
        permission.codename for fn in hooks.get_hooks("register_permissions") for permission in fn()
    }

    assert {"view_order", "view_commission", "view_ledgerentry", "view_fraudsignal"} <= codenames
    # "Change" on commissions is what lets a group approve and reject them in the queue.
    assert {"change_commission", "view_auditevent", "approve_payoutbatch"} <= codenames
    assert {"add_order", "add_commission", "delete_ledgerentry", "change_auditevent"}.isdisjoint(
        codenames
    )
    assert {"change_advocate", "add_repcode", "change_repcode", "add_programme"} <= codenames
    assert {"add_advocate", "delete_advocate", "delete_repcode", "delete_programme"}.isdisjoint(
        codenames
    )
    assert client.get(reverse("wagtailusers_groups:add")).status_code == 200


# ------------------------------------------------------------------------------
# What managers may change


def test_edit_pages_load(client, manager, rep_code):
    advocate = rep_code.advocate

    for url in (
        reverse("programmes:edit", args=[advocate.programme.pk]),
        reverse("rep_codes:edit", args=[rep_code.pk]),
    ):
        assert client.get(url).status_code == 200, url


def test_advocate_chooser_searches_by_email(client, manager, advocate):
    other = AdvocateFactory()

    response = client.get(reverse("advocate_chooser:choose_results"), {"q": advocate.user.email})

    assert response.status_code == 200
    assert advocate.user.email in rows(response)
    assert other.user.email not in rows(response)


def test_advocates_have_no_generic_edit_form(client, manager, advocate):
    # The status changes on the advocate's page, with a reason and an audit row
    # (tests/advocacy/admin/test_advocate_status.py); nothing else is a manager's to edit.
    response = client.post(f"/admin/advocates/edit/{advocate.pk}/", {"status": "paused"})

    assert response.status_code == 404
    advocate.refresh_from_db()
    assert advocate.status == Advocate.Status.ACTIVE


def test_advocate_inspect_page_lists_codes(client, manager, rep_code):
    response = client.get(reverse("advocates:inspect", args=[rep_code.advocate.pk]))

    assert response.status_code == 200
    assert rep_code.code in rows(response)
    assert f"?advocate={rep_code.advocate.pk}" in rows(response)  # "Add a vanity code"


def test_vanity_code_is_created_upper_case_through_the_service(client, manager, advocate):
    add_url = reverse("rep_codes:add")
    assert client.get(add_url, {"advocate": advocate.pk}).status_code == 200

    response = client.post(add_url, {"advocate": advocate.pk, "code": " anna10 ", "channel": "ig"})

    assert response.status_code == 302
    rep = RepCode.objects.get(code="ANNA10")
    assert (rep.advocate, rep.is_vanity, rep.is_active, rep.channel) == (advocate, True, True, "ig")
    # Logged for the site history, whose links lead to the code in the admin.
    history = client.get(reverse("wagtailadmin_reports:site_history"))
    assert reverse("rep_codes:edit", args=[rep.pk]) in rows(history)


def test_vanity_code_taken_in_another_case_is_refused(client, manager, advocate):
    RepCodeFactory(code="ANNA10")

    response = client.post(reverse("rep_codes:add"), {"advocate": advocate.pk, "code": "Anna10"})

    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert RepCode.objects.filter(code="ANNA10").count() == 1


def test_vanity_code_lost_to_a_concurrent_manager_is_reported_on_the_form(
    client, manager, advocate, monkeypatch
):
    def taken(**kwargs):
        raise ServiceError("code_taken", "The code ANNA10 is already taken.")

    monkeypatch.setattr("advocacy.wagtail_hooks.repcode_create_vanity", taken)

    response = client.post(reverse("rep_codes:add"), {"advocate": advocate.pk, "code": "anna10"})

    assert response.status_code == 200
    assert response.context["form"].errors["code"] == ["The code ANNA10 is already taken."]


def test_manager_deactivates_a_code_but_cannot_change_it(client, manager, rep_code):
    response = client.post(
        reverse("rep_codes:edit", args=[rep_code.pk]),
        {"channel": "shop", "code": "HIJACKED", "advocate": AdvocateFactory().pk},
    )  # an unticked checkbox is simply absent

    assert response.status_code == 302
    before = rep_code.code, rep_code.advocate_id
    rep_code.refresh_from_db()
    assert rep_code.is_active is False
    assert (rep_code.code, rep_code.advocate_id) == before


def test_manager_creates_a_programme(client, manager):
    data = {
        "name": "Friends of the shop",
        "slug": "friends",
        "status": "draft",
        "currency": "EUR",
        "audience": "customers",
        "join_policy": "open",
        "description": "",
        "shopper_reward_kind": "percent",
        "shopper_reward_percent": "15",
        "shopper_reward_amount": "0",
        "shopper_min_order": "0",
        "shopper_one_use": "on",
        "advocate_reward_kind": "percent",
        "advocate_reward_percent": "10",
        "advocate_reward_amount": "0",
        "advocate_recurring_months": "0",
        "attribution_window_days": "30",
        "hold_days": "30",
        "payout_threshold": "20",  # euros: the form takes currency units
        "auto_approve_limit": "0",
        "dual_approval_above": "0",
        "payout_schedule": "off",
        "payout_schedule_backend": "manual",
        "landing_url": "",
        "terms": "Be nice.",
    }
    assert client.get(reverse("programmes:add")).status_code == 200

    response = client.post(reverse("programmes:add"), data)

    assert response.status_code == 302
    programme = Programme.objects.get(slug="friends")
    assert programme.payout_threshold == 2000
    assert client.get(f"/admin/programmes/delete/{programme.pk}/").status_code == 404
