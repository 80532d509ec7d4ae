from django.conf import settings


def site(request):
    """What every template may need about the site itself."""
    return {
        "SITE_URL": settings.SITE_URL,
        "SANDBOX_STORE": settings.STREETTEAM_SANDBOX_STORE,
    }
