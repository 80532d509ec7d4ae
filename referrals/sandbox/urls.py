from django.urls import path

from referrals.sandbox import views

urlpatterns = [
    path("shop/", views.shop, name="sandbox_shop"),
    path("shop/checkout/", views.checkout, name="sandbox_checkout"),
    path("shop/thanks/", views.thanks, name="sandbox_thanks"),
]
