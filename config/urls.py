from django.conf import settings
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from referrals.api.routes import api, code_lookup_route
from referrals.links.urls import redirect_urlpatterns
from referrals.stripe.webhook import stripe_webhook

# The hot paths first and at the top level (/r/<CODE> and the API's code lookup): Django tries
# the patterns in order, and every include it enters or passes over costs regexes on every
# request. The prefixes don't overlap, so the order changes nothing else.
urlpatterns = [
    *redirect_urlpatterns,
    path("api/v1/codes/<str:code>", code_lookup_route),
    path("", include("referrals.sandbox.urls")),
    path("api/v1/", api.urls),
    # One login: the admin's sign-in and password reset are allauth's pages (throttled, with
    # lockout, email verification and the second factor), never Wagtail's own forms. Checked
    # before Wagtail's URLs so these shadow its login/ and password_reset/.
    path(
        "admin/login/",
        RedirectView.as_view(pattern_name="account_login", query_string=True),
        name="admin_login_redirect",
    ),
    re_path(
        r"^admin/password_reset/",
        RedirectView.as_view(pattern_name="account_reset_password"),
        name="admin_password_reset_redirect",
    ),
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("account/", include("allauth.urls")),
    path("stripe/webhook/", stripe_webhook, name="stripe_webhook"),
    path("", include("referrals.dashboard.urls")),
    path("", include("advocacy.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

# Wagtail's page serving is the catch-all, so it comes last.
urlpatterns += [path("", include(wagtail_urls))]

handler404 = "config.views.page_not_found"
handler500 = "config.views.server_error"
