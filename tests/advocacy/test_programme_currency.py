"""Issue #16, finding 3: a programme's currency can't change once money was recorded in it
(a commission or a ledger entry): what advocates earned would be stranded in the old currency,
neither payable (the batch build reads the programme's currency) nor shown. Refused in the
Wagtail programme form with a field error, and in the service."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from advocacy.models import Programme
from advocacy.services import programme_currency_change
from kernel.errors import ServiceError
from referrals.models import LedgerEntry
from referrals.services.ledger import ledger_write
from tests.factories import UserFactory, sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


def edit(client, programme, **changes):
    """Post Wagtail's edit form for `programme` as it stands, with `changes`."""
    url = reverse("programmes:edit", args=[programme.pk])
    form = client.get(url).context["form"]
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None or value is False:
            continue
        data[name] = "on" if value is True else value
    data.update(changes)
    return client.post(url, data)


def earn(rep_code):
    sale(rep_code, "cur-1", 10_000, timezone.now() - timedelta(days=1))


def test_the_admin_form_refuses_a_currency_change_once_commissions_exist(client, manager, rep_code):
    programme = rep_code.advocate.programme
    earn(rep_code)

    response = edit(client, programme, currency="USD")

    assert response.status_code == 200
    errors = response.context["form"].errors["currency"]
    assert errors == [
        "The currency can't change: advocates have already earned money in EUR in this "
        "programme. Start a new programme for another currency."
    ]
    assert Programme.objects.get(pk=programme.pk).currency == "EUR"


def test_a_ledger_entry_alone_locks_the_currency(client, manager, advocate):
    ledger_write(
        advocate_id=advocate.pk, currency="EUR", kind="adjustment", amount=500, reference="adj:1"
    )

    response = edit(client, advocate.programme, currency="GBP")

    assert "currency" in response.context["form"].errors
    assert Programme.objects.get(pk=advocate.programme_id).currency == "EUR"


def test_the_admin_form_still_changes_the_currency_of_a_programme_without_money(
    client, manager, advocate
):
    response = edit(client, advocate.programme, currency="USD")

    assert response.status_code == 302, response.context["form"].errors
    assert Programme.objects.get(pk=advocate.programme_id).currency == "USD"


def test_the_admin_form_saves_other_changes_of_a_programme_with_money(client, manager, rep_code):
    earn(rep_code)

    response = edit(client, rep_code.advocate.programme, name="Renamed")

    assert response.status_code == 302, response.context["form"].errors
    assert Programme.objects.get(pk=rep_code.advocate.programme_id).name == "Renamed"


def test_the_service_refuses_a_currency_change_once_money_exists(rep_code):
    programme = rep_code.advocate.programme
    earn(rep_code)

    with pytest.raises(ServiceError) as refused:
        programme_currency_change(programme_id=programme.pk, currency="USD")

    assert (refused.value.code, refused.value.field) == ("currency_locked", "currency")
    assert Programme.objects.get(pk=programme.pk).currency == "EUR"
    assert LedgerEntry.objects.filter(currency="USD").count() == 0


def test_the_service_changes_the_currency_of_a_programme_without_money(advocate):
    programme = programme_currency_change(programme_id=advocate.programme_id, currency="GBP")

    assert programme.currency == Programme.objects.get(pk=advocate.programme_id).currency == "GBP"


@pytest.mark.parametrize("update_fields", [None, ["currency"]])
def test_a_direct_save_that_changes_the_currency_once_money_exists_is_refused(
    rep_code, update_fields
):
    """A shell or a script that skips the form and the service meets the same rule."""
    earn(rep_code)
    programme = Programme.objects.get(pk=rep_code.advocate.programme_id)
    programme.currency = "USD"

    with pytest.raises(ValidationError) as refused:
        programme.save(update_fields=update_fields)

    assert "already earned money in EUR" in str(refused.value)
    assert Programme.objects.get(pk=programme.pk).currency == "EUR"


def test_a_direct_save_of_other_fields_still_works_once_money_exists(rep_code):
    earn(rep_code)
    programme = Programme.objects.get(pk=rep_code.advocate.programme_id)
    programme.name = "Spring friends"
    programme.save()

    assert Programme.objects.get(pk=programme.pk).name == "Spring friends"
