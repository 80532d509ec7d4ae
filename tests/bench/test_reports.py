"""The reports figure's plumbing (no timing asserted): it runs alone, measures both sides, and
refuses to report a time when the overview and the plain aggregates disagree.

Against the suite's SQLite database with a few sales; `python -m bench reports` runs it on
PostgreSQL at 1M clicks and 100k orders."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bench import reports
from bench.datagen import BaseData
from bench.run import _arguments
from referrals.models import Order
from tests.factories import (
    AdvocateFactory,
    ClickDailyFactory,
    ProgrammeFactory,
    RepCodeFactory,
    sale,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def base():
    programme = ProgrammeFactory()
    for n in range(3):
        rep = RepCodeFactory(advocate=AdvocateFactory(programme=programme))
        sale(rep, f"bench-{n}", 5000 + n, timezone.now() - timedelta(days=n + 1))
        ClickDailyFactory(rep_code=rep, clicks=10 * (n + 1))
    return BaseData(
        programme_id=programme.pk, top_user_id=0, top_advocate_id=0, api_token="", codes=[]
    )


def test_reports_can_be_run_alone():
    assert _arguments(["reports"]).figures == ["reports"]


def test_both_figures_are_measured_against_their_baselines(base):
    said = []

    figures = reports.report_figures(base, said.append, rounds=2, warmup=0, days=30)

    assert [f.name for f in figures] == ["overview, 30 days", "report by advocate, 30 days"]
    assert all(f.ours > 0 and f.baseline > 0 for f in figures)
    assert [f.target.limit for f in figures] == [reports.OVERVIEW_MS, reports.ADVOCATES_MS]
    assert "3 referred orders, 60 clicks, 3 advocates" in said[0]


def test_a_disagreement_with_the_plain_aggregates_stops_the_run(base):
    # An order the overview doesn't count (not referred) but the plain aggregate does.
    Order.objects.create(
        source=Order.Source.API,
        store=Order.objects.first().store,
        external_id="unreferred",
        programme_id=base.programme_id,
        currency="EUR",
        gross_amount=100,
        net_amount=100,
        placed_at=timezone.now(),
    )

    with pytest.raises(AssertionError, match="plain aggregates"):
        reports.report_figures(base, print, rounds=1, warmup=0, days=30)
