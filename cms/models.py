"""Wagtail pages: the home page and one campaign page per programme."""

from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.fields import StreamField
from wagtail.models import Page
from wagtail.search import index

from advocacy.models import Programme
from cms.blocks import CampaignStreamBlock


class HomePage(Page):
    intro = models.TextField(blank=True, help_text="The line under the site's headline.")
    body = StreamField(CampaignStreamBlock(), blank=True, use_json_field=True)

    content_panels = Page.content_panels + [FieldPanel("intro"), FieldPanel("body")]

    search_fields = Page.search_fields + [index.SearchField("intro")]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["cms.CampaignPage"]

    class Meta:
        verbose_name = "home page"

    def get_context(self, request, *args, **kwargs):
        from advocacy.offers import offer_summary, reward_summary
        from advocacy.selectors import programmes_open_to_join

        context = super().get_context(request, *args, **kwargs)
        context["programmes"] = [
            {"programme": p, "offer": offer_summary(p), "reward": reward_summary(p)}
            for p in programmes_open_to_join()
        ]
        return context


class CampaignPage(Page):
    """Where a referral link lands: greets the shopper with the advocate's name and the offer."""

    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="campaign_pages"
    )
    body = StreamField(CampaignStreamBlock(), blank=True, use_json_field=True)

    content_panels = Page.content_panels + [FieldPanel("programme"), FieldPanel("body")]

    search_fields = Page.search_fields + [index.SearchField("body")]

    parent_page_types = ["cms.HomePage"]
    subpage_types = []

    class Meta:
        verbose_name = "campaign page"

    def get_context(self, request, *args, **kwargs):
        from advocacy.offers import offer_summary
        from referrals.links.selectors import referral_greeting

        context = super().get_context(request, *args, **kwargs)
        context["greeting"] = referral_greeting(request, self.programme)
        context["offer"] = offer_summary(self.programme)
        return context
