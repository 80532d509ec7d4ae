"""The audit log in the admin: who did what to which object and when, filterable, with links to
the object."""

from django.urls import reverse
from django_filters import (
    ChoiceFilter,
    DateFromToRangeFilter,
    NumberFilter,
)
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn
from wagtail.admin.views.generic import InspectView

from kernel.admin import (
    ListingIndexView,
    ReadOnlyModelViewSet,
)
from referrals import selectors
from referrals.audit_sentences import audit_sentence, audit_sentences
from referrals.models import (
    AuditEvent,
)
from referrals.payouts import selectors as payout_selectors

AUDIT_OBJECT_TYPES = [
    ("advocate", "Advocate"),
    ("commission", "Commission"),
    ("order", "Order"),
    ("payoutbatch", "Payout batch"),
    ("payout", "Payout"),
    ("apikey", "API key"),
    ("store", "Store"),
    ("webhookevent", "Stripe event"),
    ("stripe", "Stripe reconciliation"),
    ("fraudsignal", "Fraud signal"),
    ("adjustment", "Adjustment"),
]


_AUDIT_OBJECT_URLS = {
    "advocate": "advocates:inspect",
    "webhookevent": "stripe_events:inspect",
    "commission": "commissions:inspect",
    "order": "orders:inspect",
    "payoutbatch": "payouts:inspect",
    "payout": "payouts:payout",
    "fraudsignal": "fraud_signals:inspect",
    "adjustment": "adjustments:inspect",
}


def audit_object_label(event) -> str:
    label = dict(AUDIT_OBJECT_TYPES).get(event.object_type, event.object_type)
    return f"{label} {event.object_id}"


def audit_object_url(event) -> str | None:
    url_name = _AUDIT_OBJECT_URLS.get(event.object_type)
    return reverse(url_name, args=[event.object_id]) if url_name else None


def audit_log_url(**filters) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return reverse("audit_log:index") + (f"?{query}" if query else "")


def audit_data_display(data: dict) -> str:
    return ", ".join(f"{key}: {value}" for key, value in sorted((data or {}).items()))


class AuditObjectColumn(Column):
    """The object an audit row is about, linked to its admin page."""

    cell_template_name = "referrals/admin/tables/link_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["url"] = audit_object_url(instance)
        return context


class AuditEventFilterSet(WagtailFilterSet):
    action = ChoiceFilter(
        choices=lambda: [
            (action, action.replace("_", " ").capitalize()) for action in selectors.audit_actions()
        ],
        label="Action",
    )
    object_type = ChoiceFilter(choices=AUDIT_OBJECT_TYPES, label="Object type")
    object_id = NumberFilter(label="Object id")
    batch = NumberFilter(
        label="Payout batch", method="filter_batch", help_text="The batch and its payouts."
    )
    created_at = DateFromToRangeFilter(label="When", widget=DateRangePickerWidget)

    class Meta:
        model = AuditEvent
        fields = []

    def filter_batch(self, queryset, name, value):
        return queryset.filter(
            pk__in=payout_selectors.audit_events_for_batch(int(value)).values("pk")
        )


class AuditEventIndexView(ListingIndexView):
    verbose_name_plural = "audit events"  # the model's own plural is the page title, "audit log"

    def paginate_queryset(self, queryset, page_size):
        # Each row of the page gets its sentence, with what the rows are about loaded for the
        # whole page at once (one query per kind of object, not one per row).
        paginator, page, object_list, is_paginated = super().paginate_queryset(queryset, page_size)
        object_list = list(object_list)
        for event, sentence in audit_sentences(
            object_list, selectors.audit_event_subjects(object_list)
        ):
            event.sentence = sentence
        return paginator, page, object_list, is_paginated


class AuditEventInspectView(InspectView):
    def get_object_id_display_value(self):
        return audit_object_label(self.object)

    def get_data_display_value(self):
        return audit_data_display(self.object.data) or "-"

    def get_action_display_value(self):
        subjects = selectors.audit_event_subjects([self.object])
        return audit_sentence(
            self.object, subjects.get((self.object.object_type, self.object.object_id))
        )

    def get_actor_display_value(self):
        return self.object.actor.email if self.object.actor else "System"

    def get_field_label(self, field_name, field):
        labels = {
            "actor": "Who",
            "object_id": "Object",
            "created_at": "When",
            "action": "What happened",
            "data": "Details",
        }
        return labels.get(field_name) or super().get_field_label(field_name, field)


class AuditEventViewSet(ReadOnlyModelViewSet):
    model = AuditEvent
    name = "audit_log"
    url_prefix = "audit-log"
    icon = "history"
    menu_label = "Audit log"
    index_view_class = AuditEventIndexView
    list_display = [
        Column("sentence", label="What happened"),
        AuditObjectColumn("object", label="Object", accessor=audit_object_label),
        Column("actor", label="Who", accessor=lambda e: e.actor.email if e.actor else "System"),
        "reason",
        DateColumn("created_at", label="When", sort_key="created_at"),
    ]
    filterset_class = AuditEventFilterSet
    search_fields = ["action", "reason", "actor__email"]
    list_select_related = ("actor",)
    list_export = ["created_at", "actor", "action", "object_type", "object_id", "reason", "data"]
    inspect_view_class = AuditEventInspectView
    inspect_view_fields = ["created_at", "actor", "action", "object_id", "reason", "data"]
