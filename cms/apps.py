from django.apps import AppConfig


class CmsConfig(AppConfig):
    name = "cms"
    verbose_name = "Campaign pages"

    def ready(self):
        from cms.landing import campaign_url_for
        from referrals.links.landing import register_campaign_resolver

        register_campaign_resolver(campaign_url_for)
