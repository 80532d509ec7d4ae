"""Friendly error pages that share the site's design."""

from django.shortcuts import render


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    # No context processors that might touch the database: this page must render when it is down.
    from django.http import HttpResponseServerError
    from django.template import loader

    return HttpResponseServerError(loader.get_template("500.html").render())


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: our own page for a form whose CSRF check failed (an expired or
    missing token, usually a page left open too long), instead of Django's, whose inline
    styles our Content Security Policy blocks. `reason` is for logs, not for people."""
    return render(request, "403_csrf.html", status=403)
