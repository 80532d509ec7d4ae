"""Every advocate-facing door, tried with another owner's identifiers.

An advocate signed in as Anna asks each page for Ben's code, Ben's programme and Ben's money.
Each door answers as for something unknown (404) or with Anna's own data only: none of Ben's
code, amounts or payout details appear. A new URL under the dashboard or joining must be added to
DOORS (the first test fails otherwise), so no door goes untried.
"""

import re

import pytest
from django.urls import URLPattern, get_resolver, reverse

from tests.factories import AdvocateFactory, ProgrammeFactory, RepCodeFactory, UserFactory, sale

pytestmark = pytest.mark.django_db

# Ben's sale: EUR 432.10, commission 43.21 (10%); figures that appear nowhere else.
BEN_GROSS = 43_210
BEN_IBAN = "DE89370400440532013000"


@pytest.fixture
def anna(client):
    advocate = AdvocateFactory()
    RepCodeFactory(advocate=advocate, code="ANNAOWN1")
    client.force_login(advocate.user)
    return advocate


@pytest.fixture
def ben():
    """Another advocate in another programme, with a code, a sale and bank details."""
    advocate = AdvocateFactory(
        programme=ProgrammeFactory(slug="bens-programme"),
        payout_method="bank_transfer",
        payout_details={"account_holder": "Ben Other", "iban": BEN_IBAN},
    )
    code = RepCodeFactory(advocate=advocate, code="BENSCODE9")
    sale(code, "ben-sale", BEN_GROSS)
    return advocate


def _body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _theirs_absent(response) -> None:
    body = _body(response)
    for secret in ("BENSCODE9", "43.21", "432.10", BEN_IBAN, BEN_IBAN[-4:], "Ben Other"):
        assert secret not in body, f"{response.request['PATH_INFO']} shows {secret!r}"


# name -> (kwargs naming Ben's things, query naming Ben's programme)
DOORS = {
    "dashboard": ({}, {"programme": "bens-programme"}),
    "qr_download": ({"code": "BENSCODE9"}, {}),
    "payout_history": ({}, {"programme": "bens-programme"}),
    "commissions_csv": ({}, {"programme": "bens-programme"}),
    "payout_settings": ({}, {"programme": "bens-programme"}),
    "stripe_connect_start": ({}, {"programme": "bens-programme"}),
    "stripe_connect_return": ({}, {"programme": "bens-programme"}),
    "stripe_connect_refresh": ({}, {"programme": "bens-programme"}),
    "programme_join": ({"slug": "bens-programme"}, {}),
}


def _advocate_urls() -> set[str]:
    names = set()
    for module in ("referrals.dashboard.urls", "advocacy.urls"):
        for pattern in get_resolver(module).url_patterns:
            assert isinstance(pattern, URLPattern)
            names.add(pattern.name)
    return names


def test_every_advocate_facing_url_is_tried_here():
    assert _advocate_urls() == set(DOORS)


@pytest.mark.parametrize("name", sorted(DOORS))
def test_a_door_asked_for_another_advocates_things_shows_none_of_them(client, anna, ben, name):
    kwargs, query = DOORS[name]
    response = client.get(reverse(name, kwargs=kwargs), query)

    assert response.status_code in (200, 302, 404), response.status_code
    _theirs_absent(response)
    if response.status_code == 302:
        _theirs_absent(client.get(response["Location"]))


def test_another_advocates_code_is_answered_like_an_unknown_one(client, anna, ben):
    theirs = client.get(reverse("qr_download", kwargs={"code": "BENSCODE9"}))
    unknown = client.get(reverse("qr_download", kwargs={"code": "NOSUCH99"}))

    assert theirs.status_code == unknown.status_code == 404

    def page(response, code):  # the same page but for the per-request CSRF token
        return re.sub(rb'value="[A-Za-z0-9]{64}"', b"", response.content.replace(code, b"CODE"))

    assert page(theirs, b"BENSCODE9") == page(unknown, b"NOSUCH99")


def test_the_commissions_export_holds_only_the_signed_in_advocates_rows(client, anna, ben):
    sale(anna.codes.get(), "anna-sale", 10_000)

    rows = client.get(reverse("commissions_csv"), {"programme": "bens-programme"})

    body = _body(rows)
    assert "anna-sale" in body
    assert "ben-sale" not in body


def test_a_signed_out_visitor_reaches_no_advocate_data(client, ben):
    for name, (kwargs, query) in DOORS.items():
        response = client.get(reverse(name, kwargs=kwargs), query)
        assert response.status_code in (302, 404) or name == "programme_join", name
        _theirs_absent(response)


def test_a_manager_without_an_advocacy_sees_no_advocates_money_on_the_dashboard(client, ben):
    client.force_login(UserFactory(is_staff=True))
    _theirs_absent(client.get(reverse("dashboard"), {"programme": "bens-programme"}))
