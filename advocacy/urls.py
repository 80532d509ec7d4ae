from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/qr/<str:code>.svg", views.qr_download, name="qr_download"),
    path("dashboard/payouts/", views.payout_history, name="payout_history"),
    path("dashboard/payout-settings/", views.payout_settings, name="payout_settings"),
    path("dashboard/commissions.csv", views.commissions_csv, name="commissions_csv"),
    path("join/<slug:slug>/", views.programme_join_view, name="programme_join"),
]
