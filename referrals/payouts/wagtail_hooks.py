"""The Payouts area of the admin: the batch listing and the routes of the batch screens."""

from django.urls import path, reverse
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn

from kernel.admin import MoneyColumn, ReadOnlyModelViewSet
from referrals.models import (
    PayoutBatch,
)
from referrals.payouts import admin_views


class PayoutBatchFilterSet(WagtailFilterSet):
    class Meta:
        model = PayoutBatch
        fields = ["programme", "status", "backend"]


class PayoutBatchViewSet(ReadOnlyModelViewSet):
    """Payout batches: the listing, and a review page per batch (the inspect view) where a
    manager approves, executes, exports and settles it. Building a batch has its own form."""

    model = PayoutBatch
    name = "payouts"
    icon = "tasks"
    menu_label = "Payouts"
    add_to_admin_menu = True
    menu_order = 215
    index_view_class = admin_views.PayoutBatchIndexView
    inspect_view_class = admin_views.PayoutBatchReviewView
    inspect_view_fields = ["programme"]  # the review template lays the batch out itself
    list_display = [
        TitleColumn(
            "batch",
            label="Batch",
            accessor=lambda b: f"Batch {b.pk}",
            sort_key="id",
            get_url=lambda b: reverse("payouts:inspect", args=[b.pk]),
        ),
        "programme",
        Column("state", label="Status", accessor=admin_views.batch_state),
        Column(
            "backend",
            label="Pay through",
            sort_key="backend",
            accessor=lambda b: admin_views.BACKEND_LABELS.get(b.backend, b.backend),
        ),
        MoneyColumn("total_amount", label="Total"),
        Column("payout_count", label="Payouts", sort_key="payout_count"),
        Column("created_by", label="Built by", accessor=admin_views.batch_builder),
        DateColumn("created_at", label="Built", sort_key="created_at"),
    ]
    filterset_class = PayoutBatchFilterSet
    list_select_related = ("programme", "created_by")

    def get_urlpatterns(self):
        review = self.get_inspect_view_kwargs()
        return [
            *super().get_urlpatterns(),
            path(
                "build/",
                self.construct_view(admin_views.PayoutBatchBuildView),
                name="build",
            ),
            path(
                "<int:pk>/approve/",
                self.construct_view(admin_views.PayoutBatchApproveView, **review),
                name="approve",
            ),
            path(
                "<int:pk>/cancel/",
                self.construct_view(admin_views.PayoutBatchCancelView, **review),
                name="cancel",
            ),
            path(
                "<int:pk>/execute/",
                self.construct_view(admin_views.PayoutBatchExecuteView, **review),
                name="execute",
            ),
            path("<int:pk>/csv/", admin_views.PayoutBatchCsvView.as_view(), name="csv"),
            path("payout/<int:pk>/", admin_views.PayoutRedirectView.as_view(), name="payout"),
            path(
                "payout/<int:pk>/paid/",
                admin_views.PayoutMarkPaidView.as_view(),
                name="payout_paid",
            ),
            path(
                "payout/<int:pk>/failed/",
                admin_views.PayoutMarkFailedView.as_view(),
                name="payout_failed",
            ),
            path(
                "payout/<int:pk>/confirm-destination/",
                admin_views.PayoutConfirmDestinationView.as_view(),
                name="payout_confirm_destination",
            ),
            path(
                "payout/<int:pk>/retry/",
                admin_views.PayoutRetryView.as_view(),
                name="payout_retry",
            ),
        ]
