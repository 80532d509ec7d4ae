from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/qr/<str:code>.svg", views.qr_download, name="qr_download"),
    path("join/<slug:slug>/", views.programme_join_view, name="programme_join"),
]
