from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals"

    def ready(self):
        # Registration only: the signal receivers, and every Celery task by its name (services
        # queue tasks by name through kernel.jobs, so the modules must be loaded first).
        from referrals import receivers, tasks  # noqa: F401
        from referrals.links import tasks as link_tasks  # noqa: F401
        from referrals.payouts import tasks as payout_tasks  # noqa: F401
        from referrals.stripe import tasks as stripe_tasks  # noqa: F401
