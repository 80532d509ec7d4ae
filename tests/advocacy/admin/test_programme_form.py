"""Issue #18: the programme form of the admin speaks the manager's units. Money is typed and
shown in the programme's currency ("20" is €20.00), only the offer field of the chosen kind
counts, and every setting, recurring months included, is on the form."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from advocacy.models import Programme
from tests.factories import ProgrammeFactory, UserFactory, sale

pytestmark = pytest.mark.django_db

ADD = reverse("programmes:add")


@pytest.fixture
def manager(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def new_programme(**changes) -> dict:
    """A complete "add programme" form as a manager would fill it in, with `changes`."""
    data = {
        "name": "Friends",
        "slug": "friends",
        "status": "draft",
        "currency": "EUR",
        "audience": "customers",
        "join_policy": "open",
        "description": "",
        "shopper_reward_kind": "percent",
        "shopper_reward_percent": "15",
        "shopper_reward_amount": "",
        "shopper_min_order": "0",
        "shopper_one_use": "on",
        "advocate_reward_kind": "percent",
        "advocate_reward_percent": "10",
        "advocate_reward_amount": "",
        "advocate_recurring_months": "0",
        "attribution_window_days": "30",
        "hold_days": "30",
        "payout_threshold": "0",
        "auto_approve_limit": "0",
        "dual_approval_above": "0",
        "payout_schedule": "off",
        "payout_schedule_backend": "manual",
        "landing_url": "",
        "terms": "Be nice.",
    }
    data.update(changes)
    return data


def edit_form(client, programme):
    return client.get(reverse("programmes:edit", args=[programme.pk])).context["form"]


def test_twenty_euros_typed_is_saved_as_2000_cents(client, manager):
    response = client.post(
        ADD,
        new_programme(
            payout_threshold="20",
            auto_approve_limit="12.50",
            shopper_min_order="40.00",
            dual_approval_above="1000",
        ),
    )

    assert response.status_code == 302
    programme = Programme.objects.get(slug="friends")
    assert programme.payout_threshold == 2000
    assert programme.auto_approve_limit == 1250
    assert programme.shopper_min_order == 4000
    assert programme.dual_approval_above == 100000


def test_five_hundred_yen_typed_is_saved_as_500(client, manager):
    response = client.post(ADD, new_programme(currency="JPY", payout_threshold="500"))

    assert response.status_code == 302
    assert Programme.objects.get(slug="friends").payout_threshold == 500


def test_a_fraction_of_a_cent_is_a_field_error_and_nothing_is_saved(client, manager):
    response = client.post(ADD, new_programme(payout_threshold="20.005"))

    assert response.status_code == 200
    assert response.context["form"].errors["payout_threshold"] == [
        "Enter an amount in EUR with at most 2 decimal places, for example €20.50."
    ]
    assert not Programme.objects.filter(slug="friends").exists()


def test_yen_with_decimals_is_a_field_error(client, manager):
    response = client.post(ADD, new_programme(currency="JPY", auto_approve_limit="500.5"))

    assert response.context["form"].errors["auto_approve_limit"] == [
        "Enter an amount in JPY with no decimals, for example ¥20."
    ]


@pytest.mark.parametrize("typed", ["twenty", "-5", "20,50", "NaN"])
def test_what_is_not_an_amount_is_a_field_error(client, manager, typed):
    response = client.post(ADD, new_programme(shopper_min_order=typed))

    assert response.status_code == 200
    assert "shopper_min_order" in response.context["form"].errors
    assert not Programme.objects.filter(slug="friends").exists()


def test_a_percent_offer_ignores_and_clears_the_fixed_amount(client, manager):
    response = client.post(
        ADD,
        new_programme(
            shopper_reward_kind="percent",
            shopper_reward_percent="15",
            shopper_reward_amount="5.00",
            advocate_reward_kind="percent",
            advocate_reward_percent="10",
            advocate_reward_amount="not even money",
        ),
    )

    assert response.status_code == 302
    programme = Programme.objects.get(slug="friends")
    assert (programme.shopper_reward_percent, programme.shopper_reward_amount) == (15, 0)
    assert (programme.advocate_reward_percent, programme.advocate_reward_amount) == (10, 0)


def test_a_fixed_offer_saves_the_amount_and_clears_the_percentage(client, manager):
    response = client.post(
        ADD,
        new_programme(
            shopper_reward_kind="fixed",
            shopper_reward_percent="15",
            shopper_reward_amount="5",
            advocate_reward_kind="fixed",
            advocate_reward_percent="",
            advocate_reward_amount="7.50",
        ),
    )

    assert response.status_code == 302
    programme = Programme.objects.get(slug="friends")
    assert (programme.shopper_reward_percent, programme.shopper_reward_amount) == (0, 500)
    assert (programme.advocate_reward_percent, programme.advocate_reward_amount) == (0, 750)


def test_a_fixed_offer_without_its_amount_is_a_field_error(client, manager):
    response = client.post(
        ADD, new_programme(advocate_reward_kind="fixed", advocate_reward_amount="")
    )

    assert response.context["form"].errors["advocate_reward_amount"] == [
        "Enter the fixed commission, or choose a percentage instead."
    ]
    assert not Programme.objects.filter(slug="friends").exists()


def test_a_percent_offer_without_its_percentage_is_a_field_error(client, manager):
    response = client.post(ADD, new_programme(shopper_reward_percent=""))

    assert response.context["form"].errors["shopper_reward_percent"] == [
        "Enter the discount as a percentage, 0 to 100."
    ]


def test_recurring_months_are_saved_from_the_form(client, manager):
    response = client.post(ADD, new_programme(advocate_recurring_months="12"))

    assert response.status_code == 302
    assert Programme.objects.get(slug="friends").advocate_recurring_months == 12


def test_a_weekly_payout_schedule_on_mondays_saves_from_the_form(client, manager):
    response = client.post(
        ADD,
        new_programme(
            payout_schedule="weekly",
            payout_schedule_weekday="0",
            payout_schedule_day="",
            payout_schedule_backend="stripe_connect",
        ),
    )

    assert response.status_code == 302, response.context["form"].errors
    programme = Programme.objects.get(slug="friends")
    assert programme.payout_schedule == "weekly"
    assert programme.payout_schedule_weekday == 0
    assert programme.payout_schedule_backend == "stripe_connect"


def test_a_weekly_schedule_ignores_a_day_of_the_month_out_of_range(client, manager):
    programme = ProgrammeFactory(payout_schedule_day=15)
    form = edit_form(client, programme)
    # `is not`: a stored 0 (recurring months, Monday) is a value to post back, not an unticked box.
    data = {
        name: ("on" if value is True else value)
        for name in form.fields
        if (value := form[name].value()) is not None and value is not False
    }
    data.update(payout_schedule="weekly", payout_schedule_weekday="4", payout_schedule_day="99")

    response = client.post(reverse("programmes:edit", args=[programme.pk]), data)

    assert response.status_code == 302, response.context["form"].errors
    saved = Programme.objects.get(pk=programme.pk)
    assert (saved.payout_schedule, saved.payout_schedule_weekday) == ("weekly", 4)
    assert saved.payout_schedule_day == 15


def test_a_monthly_payout_schedule_without_a_day_is_a_field_error(client, manager):
    response = client.post(ADD, new_programme(payout_schedule="monthly", payout_schedule_day=""))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["payout_schedule_day"] == ["Enter the day of the month, 1 to 28."]
    assert not Programme.objects.filter(slug="friends").exists()


@pytest.mark.parametrize("day", ["0", "29", "-3"])
def test_a_monthly_day_outside_1_to_28_is_a_field_error_not_a_crash(client, manager, day):
    """The database refuses a day outside 1 to 28 (programme_payout_day_range); the form says
    so first."""
    response = client.post(ADD, new_programme(payout_schedule="monthly", payout_schedule_day=day))

    assert response.status_code == 200
    assert response.context["form"].errors["payout_schedule_day"]
    assert not Programme.objects.filter(slug="friends").exists()


def test_a_monthly_payout_schedule_on_the_15th_saves(client, manager):
    response = client.post(
        ADD,
        new_programme(
            payout_schedule="monthly", payout_schedule_day="15", payout_schedule_weekday="9"
        ),
    )

    assert response.status_code == 302, response.context["form"].errors
    programme = Programme.objects.get(slug="friends")
    assert (programme.payout_schedule, programme.payout_schedule_day) == ("monthly", 15)
    assert programme.payout_schedule_weekday == 0


def test_the_edit_form_shows_stored_cents_in_euros(client, manager):
    programme = ProgrammeFactory(payout_threshold=2000, auto_approve_limit=1999, currency="EUR")

    form = edit_form(client, programme)

    assert form["payout_threshold"].value() == "20.00"
    assert form["auto_approve_limit"].value() == "19.99"
    assert 'value="20.00"' in str(form["payout_threshold"])
    assert "EUR</span>" in str(form["payout_threshold"])


def test_the_edit_form_shows_yen_without_decimals(client, manager):
    programme = ProgrammeFactory(payout_threshold=500, currency="JPY")

    assert edit_form(client, programme)["payout_threshold"].value() == "500"


def test_saving_the_edit_form_unchanged_keeps_every_amount(client, manager):
    programme = ProgrammeFactory(
        payout_threshold=2000,
        auto_approve_limit=1500,
        shopper_min_order=3000,
        dual_approval_above=80000,
        advocate_reward_kind="fixed",
        advocate_reward_percent=Decimal("0"),
        advocate_reward_amount=750,
        advocate_recurring_months=6,
    )
    form = edit_form(client, programme)
    data = {
        name: ("on" if form[name].value() is True else form[name].value())
        for name in form.fields
        if form[name].value() not in (None, False)
    }

    response = client.post(reverse("programmes:edit", args=[programme.pk]), data)

    assert response.status_code == 302, response.context["form"].errors
    saved = Programme.objects.get(pk=programme.pk)
    assert saved.payout_threshold == 2000
    assert saved.auto_approve_limit == 1500
    assert saved.shopper_min_order == 3000
    assert saved.dual_approval_above == 80000
    assert saved.advocate_reward_amount == 750
    assert saved.advocate_recurring_months == 6


def test_every_editable_setting_is_on_the_form_with_help_text(client, manager):
    programme = ProgrammeFactory()
    editable = {
        field.name
        for field in Programme._meta.get_fields()
        if getattr(field, "editable", False) and not field.auto_created and field.concrete
    } - {"created_at"}

    form = edit_form(client, programme)

    assert editable <= set(form.fields)
    for name in editable - {"name", "slug"}:
        assert form.fields[name].help_text, name


def test_the_form_page_loads_its_script_and_groups_the_settings(client, manager):
    response = client.get(ADD)

    page = response.content.decode()
    assert "js/programme-form.js" in page
    for heading in (
        "Offer to shoppers",
        "Reward for advocates",
        "Holds and approval",
        "Payouts",
        "Who may join",
    ):
        assert heading in page


def test_a_currency_change_after_money_is_a_field_error_not_a_crash(client, manager, rep_code):
    programme = rep_code.advocate.programme
    sale(rep_code, "form-1", 10_000, timezone.now())
    form = edit_form(client, programme)
    data = {
        name: ("on" if form[name].value() is True else form[name].value())
        for name in form.fields
        if form[name].value() not in (None, False)
    }
    data["currency"] = "USD"

    response = client.post(reverse("programmes:edit", args=[programme.pk]), data)

    assert response.status_code == 200
    assert "already earned money in EUR" in response.context["form"].errors["currency"][0]
    assert Programme.objects.get(pk=programme.pk).currency == "EUR"
