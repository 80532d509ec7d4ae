"""Stripe in the admin: the webhook events listing (Referrals menu) and the admin home's notice
when the integration is half set up."""

from django.contrib.auth.models import Permission
from django.urls import path, reverse
from django_filters import (
    ChoiceFilter,
    DateFromToRangeFilter,
)
from wagtail import hooks
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.tables import Column, DateColumn, StatusTagColumn, TitleColumn

from kernel.admin import ReadOnlyModelViewSet
from referrals.models import (
    WebhookEvent,
)
from referrals.stripe import admin_views


class WebhookEventFilterSet(WagtailFilterSet):
    type = ChoiceFilter(choices=admin_views.webhook_event_types, label="Type")
    received_at = DateFromToRangeFilter(label="Received", widget=DateRangePickerWidget)

    class Meta:
        model = WebhookEvent
        fields = ["status"]


class WebhookEventViewSet(ReadOnlyModelViewSet):
    """The webhook's log: every Stripe event stored once by its id, with what became of it. A
    failed, ignored or never-applied event can be replayed from its page."""

    model = WebhookEvent
    name = "stripe_events"
    url_prefix = "stripe-events"
    icon = "resubmit"
    menu_label = "Stripe events"
    index_view_class = admin_views.WebhookEventIndexView
    inspect_view_class = admin_views.WebhookEventInspectView
    list_display = [
        TitleColumn(
            "stripe_id",
            label="Event",
            sort_key="stripe_id",
            get_url=lambda e: reverse("stripe_events:inspect", args=[e.pk]),
        ),
        "type",
        Column("object", label="About", accessor=admin_views.webhook_event_object),
        StatusTagColumn(
            "status",
            label="Status",
            accessor="get_status_display",
            primary=lambda e: e.status == WebhookEvent.Status.PROCESSED,
        ),
        Column("attempts", label="Attempts", sort_key="attempts"),
        Column("error", label="Error or reason", accessor=lambda e: (e.error or "")[:120]),
        DateColumn("received_at", label="Received", sort_key="received_at"),
    ]
    filterset_class = WebhookEventFilterSet
    search_fields = ["stripe_id", "type", "error"]
    list_export = ["received_at", "stripe_id", "type", "status", "attempts", "error"]
    inspect_view_fields = [
        "stripe_id",
        "type",
        "status",
        "error",
        "attempts",
        "livemode",
        "received_at",
        "processed_at",
    ]

    def get_urlpatterns(self):
        return [
            *super().get_urlpatterns(),
            path("<int:pk>/replay/", admin_views.WebhookEventReplayView.as_view(), name="replay"),
        ]

    def get_permissions_to_register(self):
        # "Change" is what lets a group replay events (checked by the replay view); events are
        # stored by the webhook only, and never edited or deleted here.
        return Permission.objects.filter(
            content_type__app_label="referrals",
            codename__in=["view_webhookevent", "change_webhookevent"],
        )


class StripeNoticePanel(Component):
    """On the admin home: what of the Stripe integration is switched off, and how to switch
    it on. Shown to managers who can see Stripe events; nothing when all is on."""

    name = "streetteam_stripe_notice"
    template_name = "referrals/admin/home_stripe_notice.html"
    order = 50

    def __init__(self, notices: list[str]):
        self.notices = notices

    def get_context_data(self, parent_context):
        return {"notices": self.notices, "events_url": reverse("stripe_events:index")}


@hooks.register("construct_homepage_panels")
def add_stripe_notice(request, panels):
    notices = admin_views.stripe_integration_notices()
    if notices and request.user.has_perm("referrals.view_webhookevent"):
        panels.append(StripeNoticePanel(notices))
