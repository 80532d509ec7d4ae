from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals"

    def ready(self):
        from advocacy.cache import targets_invalidate_also
        from referrals import receivers  # noqa: F401  (connects allauth's user_signed_up)
        from referrals.links.redirect import redirect_generation_bump

        targets_invalidate_also(redirect_generation_bump)
