from django.urls import path

from . import views

urlpatterns = [
    path("r/<str:code>", views.referral_redirect, name="referral_redirect"),
    path("r/<str:code>/", views.referral_redirect),
    path("shop/", views.shop, name="sandbox_shop"),
    path("shop/checkout/", views.checkout, name="sandbox_checkout"),
    path("shop/thanks/", views.thanks, name="sandbox_thanks"),
]
