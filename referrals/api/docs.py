"""Whether the API's Swagger UI is served: in development, and in production only when
STREETTEAM_API_DOCS says so. The page runs a console against the live API that nobody outside
needs; the OpenAPI document itself (/api/v1/openapi.json) stays public, as merchants' tooling
reads it and the API is documented in the open anyway."""

import functools

from django.conf import settings
from django.http import Http404
from ninja.openapi.views import openapi_view


def docs_gate(view):
    """ninja's docs_decorator: wraps both the document and the UI; only the UI is gated."""
    if getattr(view, "func", None) is not openapi_view:
        return view

    @functools.wraps(view.func)
    def gated(request, *args, **kwargs):
        if not settings.STREETTEAM_API_DOCS:
            raise Http404("The API documentation page is off here.")
        return view(request, *args, **kwargs)

    return gated
