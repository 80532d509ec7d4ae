from django.urls import path

from referrals.dashboard import payout_settings, views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/qr/<str:code>.svg", views.qr_download, name="qr_download"),
    path("dashboard/payouts/", views.payout_history, name="payout_history"),
    path("dashboard/commissions.csv", views.commissions_csv, name="commissions_csv"),
    path("dashboard/payout-settings/", payout_settings.payout_settings, name="payout_settings"),
    path(
        "dashboard/payout-settings/stripe/",
        payout_settings.stripe_connect_start,
        name="stripe_connect_start",
    ),
    path(
        "dashboard/payout-settings/stripe/return/",
        payout_settings.stripe_connect_return,
        name="stripe_connect_return",
    ),
    path(
        "dashboard/payout-settings/stripe/refresh/",
        payout_settings.stripe_connect_refresh_view,
        name="stripe_connect_refresh",
    ),
]
