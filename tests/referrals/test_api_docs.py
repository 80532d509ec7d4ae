"""The API's Swagger UI is a development page: off in production unless STREETTEAM_API_DOCS
enables it. The OpenAPI document stays public (merchants' tooling reads it)."""

from pathlib import Path

import pytest
from django.conf import settings as django_settings

pytestmark = pytest.mark.django_db


def test_production_serves_no_swagger_ui_but_keeps_the_openapi_document(client, settings):
    settings.STREETTEAM_API_DOCS = False

    assert client.get("/api/v1/docs").status_code == 404
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_the_setting_turns_the_swagger_ui_on(client, settings):
    settings.STREETTEAM_API_DOCS = True

    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()


def test_the_default_follows_debug(monkeypatch):
    settings_file = Path(django_settings.BASE_DIR) / "config" / "settings.py"
    for debug, expected in (("false", False), ("true", True)):
        monkeypatch.setenv("DEBUG", debug)
        monkeypatch.setenv("SECRET_KEY", "x" * 50)
        monkeypatch.delenv("STREETTEAM_API_DOCS", raising=False)
        namespace = {"__file__": str(settings_file), "__name__": "settings_under_test"}
        exec(compile(settings_file.read_text(), str(settings_file), "exec"), namespace)  # noqa: S102
        assert namespace["STREETTEAM_API_DOCS"] is expected
