"""The commission queue as a review queue (issue #18): it opens on what can be decided, only
decidable rows can be ticked (the others say why), one summary per bulk decision, and the
table scrolls inside its container on a phone."""

import re

import pytest
from django.urls import reverse

from referrals.admin_views import decision_summary
from referrals.models import Commission
from tests.factories import AdvocateFactory, ProgrammeFactory

from .conftest import messages_of

pytestmark = pytest.mark.django_db

QUEUE = reverse("commissions:index")
DECIDE = reverse("commissions:decide")


def listed(response) -> set[int]:
    return {c.pk for c in response.context["object_list"]}


def test_with_no_filter_the_queue_shows_only_commissions_ready_for_review(
    client, manager, make_sale
):
    ready, held = make_sale(days_ago=40), make_sale(days_ago=2)
    decided = make_sale(days_ago=40)
    client.post(DECIDE, {"action": "approve", "commissions": [decided.pk]})

    default = client.get(QUEUE)
    everything = client.get(QUEUE, {"ready": ""})
    sorted_default = client.get(QUEUE, {"ordering": "-hold_until"})

    assert listed(default) == {ready.pk}
    assert listed(sorted_default) == {ready.pk}
    assert listed(everything) == {ready.pk, held.pk, decided.pk}
    assert listed(client.get(QUEUE, {"status": "approved"})) == {decided.pk}
    assert "show every commission" in default.content.decode()


def test_only_decidable_rows_have_a_checkbox_and_the_others_say_why(client, manager, make_sale):
    ready, held, frozen = make_sale(days_ago=40), make_sale(days_ago=2), make_sale(days_ago=40)
    Commission.objects.filter(pk=frozen.pk).update(frozen=True)
    held.refresh_from_db()

    page = client.get(QUEUE, {"ready": ""}).content.decode()

    boxes = re.findall(r'name="commissions" value="(\d+)"', page)
    assert boxes == [str(ready.pk)]
    assert f"On hold until {held.hold_until:%-d %b}" in page
    assert "Frozen by a dispute" in page


def test_a_bulk_decision_that_does_nothing_is_one_error_sentence(client, manager, make_sale):
    held, other = make_sale(days_ago=2), make_sale(days_ago=3)

    response = client.post(DECIDE, {"action": "approve", "commissions": [held.pk, other.pk]})

    assert messages_of(response) == [
        "No commission was approved; 2 were skipped because 2 are still on hold."
    ]
    assert set(Commission.objects.values_list("status", flat=True)) == {"pending"}


def test_the_summary_sums_each_currency_apart_and_lists_every_reason():
    euros = [Commission(amount=1250, currency="EUR"), Commission(amount=750, currency="EUR")]
    pounds = [Commission(amount=300, currency="GBP")]

    summary = decision_summary(
        approving=True,
        done=euros + pounds,
        skipped={"still_on_hold": 2, "commission_frozen": 1, "transition_invalid": 1},
    )

    assert summary == (
        "Approved 3 commissions worth €20.00 and £3.00; 4 were skipped because 2 are still on "
        "hold, 1 is frozen by a dispute and 1 was already decided."
    )


def test_the_queue_reads_a_fixed_number_of_queries_for_any_number_of_rows(
    client, manager, make_sale, django_assert_max_num_queries
):
    make_sale()
    client.get(QUEUE)  # warm caches (site, permissions)
    with django_assert_max_num_queries(40) as few:
        client.get(QUEUE)
    for _ in range(5):
        make_sale(advocate=AdvocateFactory(programme=ProgrammeFactory()))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(QUEUE)
