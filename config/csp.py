"""The Content-Security-Policy header: django-csp's middleware, with Wagtail's admin relaxed.

The policy itself is in settings (CONTENT_SECURITY_POLICY). Wagtail's admin is the one part of
the site we don't write: it still inlines scripts and styles and frames its own previews, so
requests under STREETTEAM_CSP_ADMIN_PREFIX get STREETTEAM_CSP_ADMIN_REPLACE instead of those
directives. Excluding the admin from the policy altogether would also drop object-src,
form-action and base-uri there, which cost it nothing.

A page preview is our own page (the strict policy holds) rendered by Wagtail as a dummy request
for the page's URL and shown in the admin's iframe, so only its frame-ancestors is relaxed.
"""

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(settings.STREETTEAM_CSP_ADMIN_PREFIX):
            relaxed = settings.STREETTEAM_CSP_ADMIN_REPLACE
        elif getattr(request, "is_preview", False):
            relaxed = settings.STREETTEAM_CSP_PREVIEW_REPLACE
        else:
            return parts
        # A view's own @csp_replace wins over ours.
        parts.replace = {**relaxed, **(parts.replace or {})}
        return parts
