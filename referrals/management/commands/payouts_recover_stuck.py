from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from referrals.conf import app_settings
from referrals.payouts.services import payout_recover_stuck


class Command(BaseCommand):
    help = (
        "Settle Stripe payouts stuck in 'processing' (the worker died around the transfer): "
        "paid when Stripe has a transfer for the payout, else sent again with the same "
        "idempotency key (never to a banned or paused advocate). Celery beat runs the same "
        "(referrals.tasks.payouts_recover_stuck)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--minutes",
            type=int,
            default=None,
            help="Only payouts processing longer than this (default: "
            "STREETTEAM_PAYOUT_STUCK_MINUTES, 120).",
        )

    def handle(self, *args, minutes, **options):
        minutes = app_settings.PAYOUT_STUCK_MINUTES if minutes is None else minutes
        if minutes < 1:
            raise CommandError("--minutes must be at least 1.")
        report = payout_recover_stuck(older_than=timedelta(minutes=minutes))
        self.stdout.write(
            f"{report.checked} stuck payout{'' if report.checked == 1 else 's'} checked: "
            f"{report.paid} paid (the transfer had gone out), {report.retried} sent again "
            f"with the same idempotency key, {report.failed} failed (money back in the balance)."
        )
        if report.unreachable:
            ids = ", ".join(str(pk) for pk in report.unreachable)
            self.stdout.write(
                self.style.WARNING(f"Stripe could not be asked about payouts {ids}: try again.")
            )
