"""Issue #18: an optional payout schedule. A programme may have a draft batch built weekly on a
weekday or monthly on a day of the month; a daily task builds it through the ordinary build, at
most once per programme and day, audited as built by the schedule, never approved. The batch
listing says when the next one is due."""

from datetime import date

import pytest
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from advocacy.models import PayoutSchedule, Programme
from referrals.models import AuditEvent, PayoutBatch
from referrals.payouts import services as payouts
from referrals.payouts.schedule import next_schedule_day
from referrals.payouts.selectors import payout_schedules_next
from referrals.payouts.tasks import payouts_build_scheduled
from tests.factories import AdvocateFactory, ProgrammeFactory, credited

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 12, 7)
TUESDAY = date(2026, 12, 8)
THURSDAY = date(2026, 12, 3)


def weekly_on_mondays(**kwargs):
    return ProgrammeFactory(
        payout_schedule=PayoutSchedule.WEEKLY, payout_schedule_weekday=0, **kwargs
    )


def with_money(programme, amount=3008):
    credited(AdvocateFactory(programme=programme), amount)
    return programme


def test_the_schedule_is_off_unless_a_manager_turns_it_on():
    programme = with_money(ProgrammeFactory())

    built = payouts.payout_schedule_run(day=MONDAY)

    assert programme.payout_schedule == "off"
    assert built == []
    assert not PayoutBatch.objects.exists()


def test_a_weekly_schedule_builds_a_draft_batch_on_its_weekday_only():
    programme = with_money(weekly_on_mondays())

    on_tuesday = payouts.payout_schedule_run(day=TUESDAY)
    on_monday = payouts.payout_schedule_run(day=MONDAY)

    assert on_tuesday == []
    [batch] = on_monday
    assert (batch.programme, batch.status, batch.total_amount, batch.payout_count) == (
        programme,
        "draft",
        3008,
        1,
    )
    assert (batch.scheduled_for, batch.backend) == (MONDAY, "manual")
    assert batch.created_by is None
    assert batch.approved_by is None


def test_a_monthly_schedule_builds_on_its_day_of_the_month_through_its_backend():
    programme = with_money(
        ProgrammeFactory(
            payout_schedule=PayoutSchedule.MONTHLY,
            payout_schedule_day=15,
            payout_schedule_backend="stripe_connect",
        )
    )

    assert payouts.payout_schedule_run(day=date(2026, 12, 14)) == []
    [batch] = payouts.payout_schedule_run(day=date(2026, 12, 15))

    assert (batch.programme, batch.backend, batch.scheduled_for) == (
        programme,
        "stripe_connect",
        date(2026, 12, 15),
    )


def test_a_second_run_the_same_day_builds_no_second_batch():
    programme = with_money(weekly_on_mondays())
    payouts.payout_schedule_run(day=MONDAY)
    with_money(programme, 990)  # someone else now has money to be paid

    again = payouts.payout_schedule_run(day=MONDAY)

    assert again == []
    assert PayoutBatch.objects.filter(programme=programme).count() == 1
    assert AuditEvent.objects.filter(action="batch_built").count() == 1


def test_the_database_refuses_a_second_scheduled_batch_for_the_same_day():
    programme = with_money(weekly_on_mondays())
    payouts.payout_schedule_run(day=MONDAY)
    with_money(programme, 990)

    with pytest.raises(IntegrityError):
        payouts.payout_batch_build(programme_id=programme.pk, scheduled_for=MONDAY)


def test_the_next_period_builds_again():
    programme = with_money(weekly_on_mondays())
    payouts.payout_schedule_run(day=MONDAY)
    with_money(programme, 990)

    [next_week] = payouts.payout_schedule_run(day=date(2026, 12, 14))

    assert (next_week.total_amount, next_week.scheduled_for) == (990, date(2026, 12, 14))


def test_the_build_is_audited_as_the_schedules_not_a_persons():
    programme = with_money(weekly_on_mondays())

    [batch] = payouts.payout_schedule_run(day=MONDAY)

    event = AuditEvent.objects.get(action="batch_built", object_id=batch.pk)
    assert event.actor is None
    assert event.reason == "Built by the programme's payout schedule."
    assert event.data == {"total": 3008, "payouts": 1, "scheduled_for": "2026-12-07"}
    assert programme.batches.get().status == "draft"


def test_a_batch_built_by_hand_is_audited_as_before(manager):
    programme = with_money(ProgrammeFactory())

    batch = payouts.payout_batch_build(programme_id=programme.pk, actor=manager)

    event = AuditEvent.objects.get(action="batch_built", object_id=batch.pk)
    assert (event.actor, event.reason, event.data) == (manager, "", {"total": 3008, "payouts": 1})
    assert batch.scheduled_for is None


def test_nobody_to_pay_builds_nothing_and_a_draft_programme_is_skipped():
    weekly_on_mondays()  # no money
    with_money(weekly_on_mondays(status=Programme.Status.DRAFT))

    assert payouts.payout_schedule_run(day=MONDAY) == []
    assert not PayoutBatch.objects.exists()


def test_the_daily_task_builds_todays_batches(monkeypatch):
    programme = with_money(weekly_on_mondays())
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: MONDAY)

    built = payouts_build_scheduled.delay().get()

    assert built == [programme.batches.get().pk]


def test_the_task_runs_every_day_from_beat():
    from config.celery import app

    entry = app.conf.beat_schedule["build-scheduled-payout-batches"]
    assert entry["task"] == "referrals.tasks.payouts_build_scheduled"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({5}, {0})
    assert entry["schedule"].day_of_week == set(range(7))


@pytest.mark.parametrize(
    ("schedule", "weekday", "day", "after", "expected"),
    [
        ("weekly", 0, 1, date(2026, 12, 3), date(2026, 12, 7)),
        ("weekly", 3, 1, date(2026, 12, 3), date(2026, 12, 3)),
        ("weekly", 2, 1, date(2026, 12, 3), date(2026, 12, 9)),
        ("monthly", 0, 15, date(2026, 12, 3), date(2026, 12, 15)),
        ("monthly", 0, 3, date(2026, 12, 3), date(2026, 12, 3)),
        ("monthly", 0, 1, date(2026, 12, 3), date(2027, 1, 1)),
        ("monthly", 0, 28, date(2027, 1, 29), date(2027, 2, 28)),
        ("off", 0, 1, date(2026, 12, 3), None),
    ],
)
def test_next_schedule_day(schedule, weekday, day, after, expected):
    programme = Programme(
        payout_schedule=schedule, payout_schedule_weekday=weekday, payout_schedule_day=day
    )

    assert next_schedule_day(programme, after) == expected


def test_once_todays_batch_is_built_the_next_is_a_period_later():
    programme = with_money(weekly_on_mondays(name="Spring"))
    payouts.payout_schedule_run(day=MONDAY)

    [upcoming] = payout_schedules_next(today=MONDAY)

    assert (upcoming.programme, upcoming.day) == (programme, date(2026, 12, 14))


def test_the_batch_listing_says_when_the_next_batch_is_built(client, manager, monkeypatch):
    client.force_login(manager)
    weekly_on_mondays(name="Spring")
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: THURSDAY)

    page = client.get(reverse("payouts:index")).content.decode()

    assert "Next scheduled batch: Monday 7 December (weekly, on Mondays)." in page


def test_with_several_schedules_the_listing_names_each_programme(client, manager, monkeypatch):
    client.force_login(manager)
    weekly_on_mondays(name="Spring")
    ProgrammeFactory(name="Summer", payout_schedule=PayoutSchedule.MONTHLY, payout_schedule_day=28)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: THURSDAY)

    page = client.get(reverse("payouts:index")).content.decode()

    assert "Next scheduled batch of Spring: Monday 7 December (weekly, on Mondays)." in page
    assert "Next scheduled batch of Summer: Monday 28 December (monthly, on day 28)." in page


def test_without_a_schedule_the_listing_says_batches_are_built_by_hand(client, manager):
    client.force_login(manager)

    page = client.get(reverse("payouts:index")).content.decode()

    assert "No programme has a payout schedule" in page


def test_a_scheduled_batch_is_shown_as_built_by_the_schedule(client, manager):
    client.force_login(manager)
    programme = with_money(weekly_on_mondays())
    [batch] = payouts.payout_schedule_run(day=MONDAY)

    listing = client.get(reverse("payouts:index")).content.decode()
    review = client.get(reverse("payouts:inspect", args=[batch.pk])).content.decode()

    assert programme.batches.get() == batch
    assert "The payout schedule" in listing
    assert " by the payout schedule" in review
    assert "<td>The payout schedule</td>" in review.split('id="history-heading"')[1]
