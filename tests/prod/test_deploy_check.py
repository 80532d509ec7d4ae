"""Production settings pass Django's deployment checklist, and the Content-Security-Policy holds:
the header on our pages, Wagtail's admin relaxed only where it must be, and no template that
would need 'unsafe-inline'."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")},
        **env,
    }
    return subprocess.run(  # noqa: S603 (this interpreter, manage.py, our own arguments)
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "streetteam.example",
    "SITE_URL": "https://streetteam.example",
}


@pytest.mark.parametrize(
    "database_url",
    ["sqlite:///prod.sqlite3", "postgres://streetteam:secret@db.internal:5432/streetteam"],
)
def test_check_deploy_finds_no_issues_with_production_settings(database_url):
    result = manage("check", "--deploy", DATABASE_URL=database_url, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr


def test_check_deploy_names_what_a_local_plain_http_run_gives_up():
    result = manage("check", "--deploy", SECURE_SSL_REDIRECT="false", **PRODUCTION)
    assert "security.W008" in result.stderr  # SECURE_SSL_REDIRECT: `make run-prod` only


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is false" in result.stderr


def _directives(header: str) -> dict[str, set[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: set(values) for name, *values in parts}


@pytest.mark.django_db
def test_pages_carry_a_policy_without_unsafe_inline(client, campaign_page):
    for path in ["/account/login/", campaign_page.url, "/shop/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        policy = _directives(response["Content-Security-Policy"])
        assert policy["script-src"] == {"'self'"}
        assert policy["style-src"] == {"'self'"}
        assert policy["frame-ancestors"] == {"'none'"}
        assert policy["object-src"] == {"'none'"}
        assert policy["form-action"] == {"'self'", "https://connect.stripe.com"}
        assert policy["base-uri"] == {"'self'"}


@pytest.mark.django_db
def test_pages_load_our_site_script_and_never_the_merchant_link_script(client, campaign_page):
    # Two scripts, two names: static/js/site.js is ours (the one script-src 'self' lets run),
    # static/streetteam-merchant.js (and its old name static/streetteam.js) is for merchants.
    for path in ["/account/login/", campaign_page.url, "/shop/"]:
        page = client.get(path).text
        assert '<script src="/static/js/site.js" defer></script>' in page, path
        assert "streetteam.js" not in page, path
        assert "streetteam-merchant.js" not in page, path


@pytest.mark.django_db
def test_wagtail_admin_gets_inline_scripts_and_same_origin_frames_and_nothing_more(
    client, django_user_model
):
    manager = django_user_model.objects.create_superuser(email="m@example.com", password="x")
    client.force_login(manager)
    response = client.get("/admin/")
    assert response.status_code == 200
    policy = _directives(response["Content-Security-Policy"])
    assert policy["script-src"] == {"'self'", "'unsafe-inline'"}
    assert policy["style-src"] == {"'self'", "'unsafe-inline'"}
    assert policy["frame-ancestors"] == {"'self'"}  # Wagtail's live preview frames the admin
    assert policy["object-src"] == {"'none'"}
    assert policy["form-action"] == {"'self'", "https://connect.stripe.com"}
    assert policy["base-uri"] == {"'self'"}


# What the policy blocks outside the admin: inline <script> and <style> elements, style=""
# attributes and on*="" handlers. Exempt: emails (mail clients need inline styles, and no
# browser applies our header to them) and screens served under /admin/ (the admin policy).
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|<style\b|\sstyle=\"|\son[a-z]+=\"",
    re.IGNORECASE,
)


def test_templates_have_no_inline_scripts_styles_or_handlers():
    offenders = []
    for template in sorted((BASE_DIR / "templates").rglob("*.html")):
        if {"emails", "admin"} & set(template.relative_to(BASE_DIR / "templates").parts):
            continue
        for number, line in enumerate(template.read_text().splitlines(), start=1):
            if INLINE.search(line):
                offenders.append(f"{template.relative_to(BASE_DIR)}:{number}: {line.strip()}")
    assert offenders == []
