"""Stores keep merchants apart (issue #17): a key sees and changes only its own store's orders,
attributes only to its own programmes, and gets for anything of another store or programme
exactly the answer it gets for something that doesn't exist."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from referrals.api.keys import api_key_create
from referrals.links.cookies import visitor_id_sign
from referrals.models import Click, Commission, Order
from referrals.services.orders import order_ingest
from referrals.services.stores import store_built_in
from tests.factories import AdvocateFactory, ProgrammeFactory, RepCodeFactory, StoreFactory

pytestmark = pytest.mark.django_db


class Shop:
    """A store with one key scoped to one programme, and one advocate's code there."""

    def __init__(self, client, name):
        self.client = client
        self.programme = ProgrammeFactory()
        self.store = StoreFactory(name=name)
        self.key, self.token = api_key_create(
            name=f"{name} key", store=self.store, programmes=[self.programme]
        )
        self.rep_code = RepCodeFactory(advocate=AdvocateFactory(programme=self.programme))

    def get(self, path):
        return self.client.get(f"/api/v1{path}", HTTP_AUTHORIZATION=f"Bearer {self.token}")

    def post(self, path, body):
        return self.client.post(
            f"/api/v1{path}",
            body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {self.token}",
        )

    def order(self, external_id, **fields):
        return self.post("/orders", {**ORDER, "external_id": external_id, **fields})


ORDER = {"currency": "EUR", "gross_amount": 10_000, "customer_email": "friend@example.net"}


@pytest.fixture
def ours(client):
    return Shop(client, "Our shop")


@pytest.fixture
def theirs(client):
    return Shop(client, "Their shop")


def answer(response, *names) -> tuple[int, str]:
    """Status and body, with the given request-specific values (an id, a code) blanked, so two
    answers can be compared for anything else that tells them apart."""
    body = json.dumps(response.json(), sort_keys=True)
    for name in names:
        body = body.replace(str(name), "<value>")
    return response.status_code, body


# ------------------------------------------------------------------ every door, same answer


def test_another_programmes_code_is_looked_up_as_an_unknown_one(ours, theirs):
    foreign = ours.get(f"/codes/{theirs.rep_code.code}")
    unknown = ours.get("/codes/NOSUCH99")
    assert foreign.status_code == 404
    assert answer(foreign, theirs.rep_code.code) == answer(unknown, "NOSUCH99")


def test_an_order_with_another_programmes_code_is_recorded_as_with_an_unknown_one(ours, theirs):
    foreign = ours.order("o-1", code=theirs.rep_code.code)
    unknown = ours.order("o-2", code="NOSUCH99")
    assert foreign.status_code == 201
    assert answer(foreign, "o-1", theirs.rep_code.code) == answer(unknown, "o-2", "NOSUCH99")
    order = Order.objects.get(external_id="o-1")
    assert (order.rep_code, order.advocate, order.rejected_code) == (
        None,
        None,
        theirs.rep_code.code,
    )
    assert not Commission.objects.exists()


def test_a_click_on_another_programmes_link_attributes_nothing(ours, theirs):
    Click.objects.create(
        rep_code=theirs.rep_code,
        advocate=theirs.rep_code.advocate,
        created_at=timezone.now() - timedelta(hours=1),
        visitor_id="theirvisitor1",
    )
    foreign = ours.order("o-1", visitor_id=visitor_id_sign("theirvisitor1"))
    unknown = ours.order("o-2", visitor_id=visitor_id_sign("nobodyvisitor"))
    assert foreign.status_code == 201
    assert foreign.json()["attributed"] is False
    assert answer(foreign, "o-1") == answer(unknown, "o-2")
    order = Order.objects.get(external_id="o-1")
    assert (order.programme, order.rep_code, order.advocate) == (None, None, None)
    assert not Commission.objects.exists()


def test_a_click_on_the_keys_own_programme_still_attributes(ours):
    Click.objects.create(
        rep_code=ours.rep_code,
        advocate=ours.rep_code.advocate,
        created_at=timezone.now() - timedelta(hours=1),
        visitor_id="ourvisitor1",
    )
    response = ours.order("o-1", visitor_id=visitor_id_sign("ourvisitor1"))
    assert (response.json()["attribution"], response.json()["code"]) == ("link", ours.rep_code.code)


def test_another_stores_order_is_refunded_as_an_unknown_one(ours, theirs):
    assert theirs.order("their-1", code=theirs.rep_code.code).status_code == 201
    refund = {"refund_id": "re_1", "amount": 1_000}
    foreign = ours.post("/orders/their-1/refunds", refund)
    unknown = ours.post("/orders/nosuch-1/refunds", refund)
    assert foreign.status_code == 404
    assert answer(foreign) == answer(unknown)
    assert not Order.objects.get(external_id="their-1").refunds.exists()


def test_a_sandbox_or_stripe_order_is_unknown_to_an_api_key(ours):
    for source in ("sandbox", "stripe"):
        order_ingest(source=source, external_id=f"{source}-1", currency="EUR", gross_amount=500)
    refund = {"refund_id": "re_1", "amount": 100}
    for external_id in ("sandbox-1", "stripe-1"):
        response = ours.post(f"/orders/{external_id}/refunds", refund)
        assert answer(response) == answer(ours.post("/orders/nosuch-1/refunds", refund))
    assert {o.store.slug for o in Order.objects.all()} == {"sandbox", "stripe"}


def test_another_programmes_advocate_is_as_unknown_as_a_missing_one(ours, theirs):
    advocate = theirs.rep_code.advocate
    foreign = ours.get(f"/advocates/{advocate.pk}/stats")
    unknown = ours.get("/advocates/999999/stats")
    assert foreign.status_code == 404
    assert answer(foreign, advocate.pk) == answer(unknown, 999999)


def test_an_order_credited_to_a_programme_outside_the_key_is_unknown_to_it(ours):
    """Two keys of one store, each for its own programme: neither refunds the other's sales."""
    other_programme = ProgrammeFactory()
    other_code = RepCodeFactory(advocate=AdvocateFactory(programme=other_programme))
    _, other_token = api_key_create(
        name="Second till", store=ours.store, programmes=[other_programme]
    )
    ours.token, our_token = other_token, ours.token
    assert ours.order("shared-1", code=other_code.code).json()["attributed"] is True
    ours.token = our_token
    refund = {"refund_id": "re_1", "amount": 1_000}
    assert answer(ours.post("/orders/shared-1/refunds", refund)) == answer(
        ours.post("/orders/nosuch-1/refunds", refund)
    )


def test_a_scoped_key_refunds_its_own_unattributed_order(ours):
    assert ours.order("o-1").json()["attributed"] is False
    response = ours.post("/orders/o-1/refunds", {"refund_id": "re_1", "amount": 1_000})
    assert response.status_code == 200
    assert response.json()["order_status"] == "partially_refunded"


# --------------------------------------------------------------- order ids are per store


def test_two_stores_with_overlapping_order_numbers_each_keep_their_own(ours, theirs):
    mine = ours.order("1001", code=ours.rep_code.code, gross_amount=5_000)
    yours = theirs.order("1001", code=theirs.rep_code.code, gross_amount=8_000)
    assert (mine.status_code, yours.status_code) == (201, 201)
    assert (mine.json()["code"], mine.json()["gross_amount"]) == (ours.rep_code.code, 5_000)
    assert (yours.json()["code"], yours.json()["gross_amount"]) == (theirs.rep_code.code, 8_000)
    assert {
        (o.store, o.rep_code, o.gross_amount) for o in Order.objects.filter(external_id="1001")
    } == {(ours.store, ours.rep_code, 5_000), (theirs.store, theirs.rep_code, 8_000)}
    assert Commission.objects.count() == 2


def test_reposting_another_stores_order_id_tells_nothing_about_it(ours, theirs):
    assert theirs.order("their-1", code=theirs.rep_code.code).status_code == 201
    response = ours.order("their-1", gross_amount=1_234)
    assert response.status_code == 201  # a new order of our own, not a replay of theirs
    body = response.json()
    assert (body["created"], body["code"], body["advocate_id"], body["gross_amount"]) == (
        True,
        None,
        None,
        1_234,
    )


def test_a_squatted_order_id_does_not_block_the_real_stores_sale(ours, theirs):
    assert ours.order("their-next").status_code == 201  # claimed first, by the wrong store
    real = theirs.order("their-next", code=theirs.rep_code.code)
    assert real.status_code == 201
    assert (real.json()["created"], real.json()["code"]) == (True, theirs.rep_code.code)
    assert real.json()["commission_amount"] == 1_000
    theirs_recorded = Order.objects.get(store=theirs.store, external_id="their-next")
    assert theirs_recorded.advocate == theirs.rep_code.advocate


def test_a_repeated_order_is_still_answered_from_its_first_recording(ours):
    first = ours.order("o-1", code=ours.rep_code.code)
    again = ours.order("o-1", code=ours.rep_code.code)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False
    assert Order.objects.count() == 1


def test_the_database_refuses_a_second_order_with_the_same_id_in_one_store():
    from django.db import IntegrityError, transaction

    store = store_built_in("api")
    fields = {"source": "api", "currency": "EUR", "gross_amount": 1, "net_amount": 1}
    Order.objects.create(store=store, external_id="dup", placed_at=timezone.now(), **fields)
    Order.objects.create(
        store=StoreFactory(), external_id="dup", placed_at=timezone.now(), **fields
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(store=store, external_id="dup", placed_at=timezone.now(), **fields)
