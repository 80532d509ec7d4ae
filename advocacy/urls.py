from django.urls import path

from advocacy import views

urlpatterns = [
    path("join/<slug:slug>/", views.programme_join_view, name="programme_join"),
]
