from django.urls import path

from referrals.links import views

# /r/<CODE>, placed by config.urls at the top level: behind an include, Django would try the
# include's prefix and then its patterns on every click.
redirect_urlpatterns = [
    path("r/<str:code>", views.referral_redirect, name="referral_redirect"),
    path("r/<str:code>/", views.referral_redirect),
]
