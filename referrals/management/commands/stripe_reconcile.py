from datetime import UTC, datetime

import stripe
from django.core.management.base import BaseCommand, CommandError

from referrals.stripe import client as stripe_api
from referrals.stripe.reconcile import ReconcileReport, stripe_reconcile


def _date(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise CommandError(f"--since must be a date like 2025-01-31, not {value!r}.") from exc


def _when(moment) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "unknown time"


class Command(BaseCommand):
    help = (
        "Compare Stripe with Streetteam since a date: events Stripe sent that never arrived or "
        "failed here, payments with no order here, and Stripe orders here Stripe doesn't know "
        "as paid. --apply records and applies the missed events and replays the failed ones. "
        "Celery beat runs the same check daily (referrals.tasks.stripe_reconcile)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since", required=True, type=_date, help="First day to check (YYYY-MM-DD, UTC)."
        )
        parser.add_argument(
            "--apply",
            action="store_true",
            help="Apply missed events and replay failed ones (safe to repeat: each applies once).",
        )

    def handle(self, *args, since, apply, **options):
        try:
            report = stripe_reconcile(
                since=since, apply=apply, progress=lambda line: self.stderr.write(line)
            )
        except stripe_api.StripeUnavailable as exc:
            raise CommandError(f"The Stripe integration is off: {exc}") from exc
        except stripe.StripeError as exc:
            raise CommandError(f"Stripe could not be read: {exc}") from exc
        self.print_report(report)

    def print_report(self, report: ReconcileReport) -> None:
        out = self.stdout
        out.write("")
        out.write(
            self.style.MIGRATE_HEADING(f"Stripe reconciliation since {report.since:%Y-%m-%d}")
        )
        out.write(
            f"Checked {report.events_checked} events and {report.payments_checked} succeeded "
            "payments."
        )
        self.section(
            "Events Stripe sent that never arrived here",
            report.missed_events,
            lambda e: f"{e.stripe_id}  {e.type}  {_when(e.created)}",
        )
        self.section(
            "Events received here but failed or not applied",
            report.unsettled_events,
            lambda e: f"{e.stripe_id}  {e.type}  {e.status}: {e.error or 'not applied yet'}",
        )
        if report.applied_requested:
            self.section(
                "Applied now",
                report.applied,
                lambda e: (
                    f"{e.stripe_id}  {e.type}  -> {e.status}" + (f": {e.error}" if e.error else "")
                ),
                ok_text="Nothing needed applying.",
            )
        self.section(
            "Paid in Stripe, no order here",
            report.missing_orders,
            lambda p: (
                f"{p.id}  {p.amount} {p.currency} (minor units)  {_when(p.created)}"
                + (f"  ({p.note})" if p.note else "")
            ),
        )
        self.section(
            "Orders here that Stripe doesn't know as paid",
            report.unknown_orders,
            lambda p: f"{p.id}  {p.amount} {p.currency} (minor units)  {p.note}",
        )
        out.write("")
        if report.problems:
            out.write(self.style.WARNING(f"{report.problems} thing(s) to look at."))
        else:
            out.write(self.style.SUCCESS("Stripe and Streetteam agree."))

    def section(self, title, lines, describe, ok_text="None.") -> None:
        self.stdout.write("")
        self.stdout.write(f"{title}: {len(lines)}")
        if not lines:
            self.stdout.write(f"  {ok_text}")
        for line in lines:
            self.stdout.write(f"  {describe(line)}")
