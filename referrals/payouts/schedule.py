"""The payout schedule's calendar: on which days a programme's schedule builds a batch, and the
next such day. Pure date arithmetic; the build itself is `services.payout_schedule_run`."""

from datetime import date, timedelta

from advocacy.models import WEEKDAYS, PayoutSchedule, Programme


def schedule_is_due(programme: Programme, day: date) -> bool:
    """The programme's schedule builds a batch on `day`."""
    if programme.payout_schedule == PayoutSchedule.WEEKLY:
        return day.weekday() == programme.payout_schedule_weekday
    if programme.payout_schedule == PayoutSchedule.MONTHLY:
        return day.day == programme.payout_schedule_day
    return False


def next_schedule_day(programme: Programme, after: date) -> date | None:
    """The first day on or after `after` the schedule builds a batch; None when it is off."""
    if programme.payout_schedule == PayoutSchedule.WEEKLY:
        return after + timedelta(days=(programme.payout_schedule_weekday - after.weekday()) % 7)
    if programme.payout_schedule == PayoutSchedule.MONTHLY:
        day = programme.payout_schedule_day  # 1 to 28: every month has it
        if after.day <= day:
            return after.replace(day=day)
        if after.month == 12:
            return date(after.year + 1, 1, day)
        return date(after.year, after.month + 1, day)
    return None


def schedule_description(programme: Programme) -> str:
    """ "weekly, on Mondays", "monthly, on day 15", or "off"."""
    if programme.payout_schedule == PayoutSchedule.WEEKLY:
        return f"weekly, on {dict(WEEKDAYS)[programme.payout_schedule_weekday]}s"
    if programme.payout_schedule == PayoutSchedule.MONTHLY:
        return f"monthly, on day {programme.payout_schedule_day}"
    return "off"
