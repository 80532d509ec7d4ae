from django.core.management.base import BaseCommand

from referrals.services.commissions import commissions_release_held


class Command(BaseCommand):
    help = (
        "Approve commissions whose hold has ended where the programme auto-approves them; the "
        "rest wait in the managers' queue. The same step celery beat runs hourly; use this from "
        "cron where there is no beat."
    )

    def handle(self, *args, **options):
        result = commissions_release_held()
        self.stdout.write(
            self.style.SUCCESS(
                f"Auto-approved {result['auto_approved']}; "
                f"{result['awaiting_review']} past their hold await review."
            )
        )
