"""schemathesis against our own OpenAPI document: generated requests, valid and not, for every
operation. No answer may be a server error or break the documented schema.

The number of examples per operation is bounded so `make test` stays fast; raise
SCHEMATHESIS_EXAMPLES to search harder.
"""

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from config.wsgi import application
from referrals.api.keys import api_key_create
from referrals.api.routes import api
from tests.factories import AdvocateFactory, ProgrammeFactory, RepCodeFactory

# The document comes straight from the API object (fetching it over WSGI at import time would
# need the database before pytest-django allows it); the requests go to the real WSGI app.
schema = schemathesis.openapi.from_dict(
    json.loads(json.dumps(api.get_openapi_schema(path_prefix="/api/v1"), default=str))
)
schema.app = application
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25"))


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests here go through the WSGI app, not Django's test client, so Django would close
    the database connection at each request's end, inside the test's transaction (PostgreSQL
    notices). Do what the test client does: leave connections alone during the test."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(db):
    programme = ProgrammeFactory()
    RepCodeFactory(advocate=AdvocateFactory(programme=programme), code="FUZZ2024")
    _, key = api_key_create(name="fuzz", programmes=[programme])
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_never_errors_and_keeps_to_its_schema(case, bearer):
    # The acceptance checks expect every schema-valid request to succeed, but a valid request
    # for an unknown code is a legitimate 404; everything else schemathesis checks stays on
    # (server errors, status codes and bodies as documented, content type, headers).
    case.call_and_validate(
        headers=bearer,
        excluded_checks=[positive_data_acceptance, negative_data_rejection],
    )
