"""The site's URLs plus the bare baseline views (bench/views.py), which exist only here."""

from django.urls import path

from config.urls import handler404, handler500
from config.urls import urlpatterns as site_urlpatterns

from . import views

urlpatterns = [
    path("bench/ping", views.ping),
    path("bench/redirect/<str:code>", views.bare_redirect),
    path("bench/json/<str:code>", views.bare_json),
    path("bench/page/", views.bare_page),
    *site_urlpatterns,
]

__all__ = ["handler404", "handler500", "urlpatterns"]
