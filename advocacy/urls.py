from django.urls import path

from advocacy import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/qr/<str:code>.svg", views.qr_download, name="qr_download"),
    path("dashboard/payouts/", views.payout_history, name="payout_history"),
    path("dashboard/payout-settings/", views.payout_settings, name="payout_settings"),
    path(
        "dashboard/payout-settings/stripe/",
        views.stripe_connect_start,
        name="stripe_connect_start",
    ),
    path(
        "dashboard/payout-settings/stripe/return/",
        views.stripe_connect_return,
        name="stripe_connect_return",
    ),
    path(
        "dashboard/payout-settings/stripe/refresh/",
        views.stripe_connect_refresh_view,
        name="stripe_connect_refresh",
    ),
    path("dashboard/commissions.csv", views.commissions_csv, name="commissions_csv"),
    path("join/<slug:slug>/", views.programme_join_view, name="programme_join"),
]
