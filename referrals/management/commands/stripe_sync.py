"""`manage.py stripe_sync [--apply]`: compare programmes and rep codes with Stripe's coupons and
promotion codes, both ways, print the differences, and with --apply fix them."""

import stripe
from django.core.management.base import BaseCommand, CommandError

from referrals.stripe.promotion_codes import SyncReport, stripe_sync_all

OFF = "Stripe integration is off (STRIPE_SECRET_KEY is not set)."
COLUMNS = ("Difference", "Programme", "Code", "Streetteam", "Stripe", "Result")
BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Compare programmes' coupons and rep codes' promotion codes with Stripe, both ways, and "
        "list the differences; --apply fixes them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--apply", action="store_true", help="Fix the differences in Stripe and here."
        )

    def handle(self, *args, apply: bool = False, **options):
        try:
            report = stripe_sync_all(apply=apply, progress=self._progress)
        except stripe.StripeError as exc:
            raise CommandError(f"Stripe could not be read: {exc}") from exc
        if not report.enabled:
            self.stdout.write(OFF)
            return
        if report.codes:
            self.stderr.write("")  # end the progress line
        self._table(report)
        self._summary(report)

    def _progress(self, done: int, total: int) -> None:
        """A textual bar on stderr, so stdout stays the report (pipe it, grep it)."""
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stderr.write(f"\rChecking rep codes [{bar}] {done}/{total}", ending="")
        self.stderr.flush()

    def _table(self, report: SyncReport) -> None:
        if not report.differences:
            return
        rows = [
            (
                d.kind,
                d.programme or "-",
                d.code or "-",
                d.ours,
                d.stripe,
                ("fixed" if d.fixed else f"failed: {d.error}") if report.applied else "-",
            )
            for d in report.differences
        ]
        widths = [max(len(str(r[i])) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS))]

        def line(cells) -> str:
            return "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

        self.stdout.write(line(COLUMNS))
        self.stdout.write(line("-" * w for w in widths))
        for row in rows:
            self.stdout.write(line(row))
        self.stdout.write("")

    def _summary(self, report: SyncReport) -> None:
        checked = (
            f"Checked {report.programmes} programme(s), {report.codes} rep code(s) and "
            f"{report.promotion_codes} promotion code(s) in Stripe."
        )
        self.stdout.write(checked)
        count = len(report.differences)
        if not count:
            self.stdout.write(self.style.SUCCESS("Stripe and Streetteam agree."))
        elif not report.applied:
            self.stdout.write(
                self.style.WARNING(f"{count} difference(s). Run with --apply to fix them.")
            )
        else:
            failed = len(report.errors)
            message = f"Fixed {count - failed} of {count} difference(s)."
            style = self.style.ERROR if failed else self.style.SUCCESS
            self.stdout.write(style(message))
