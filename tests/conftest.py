"""Shared fixtures and fast test settings (as cookiecutter-django's conftest and test settings)."""

import os

import pytest
from django.core.cache import cache
from wagtail.models import Page, Site

from referrals.links import buffer as clickbuffer

from .factories import PASSWORD, AdvocateFactory, ProgrammeFactory, RepCodeFactory, UserFactory
from .fakes.stripe_server import FakeStripe

pytest_plugins = ["tests.redis_server"]  # redis_url, redis_cache: a real redis-server

if os.environ.get("STREETTEAM_MUTATION_DB"):
    # `make mutate`: migrate once, copy that into each mutant's session (the module says why).
    from .mutation.template_db import django_db_setup  # noqa: F401


def pytest_configure(config):
    # WhiteNoise warns on every request that collectstatic has not been run; tests don't need it.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # No background flusher thread: tests drain the click buffer explicitly.
    settings.STREETTEAM_CLICK_FLUSH_SECONDS = 0
    # The Redis buffer pushes on the request (tests that gather clicks say so themselves).
    settings.STREETTEAM_CLICK_PUSH_SECONDS = 0
    settings.STREETTEAM_CLICK_BUFFER_URL = ""
    settings.STREETTEAM_SANDBOX_STORE = True
    settings.SITE_URL = "https://streetteam.test"


@pytest.fixture(autouse=True)
def _fresh_state():
    """Each test starts with an empty click buffer and cache (allauth keeps rate limits there)."""
    clickbuffer._buffer = None
    cache.clear()
    yield
    clickbuffer._buffer = None
    cache.clear()


@pytest.fixture
def fake_stripe(settings):
    """tests/fakes/stripe_server.py on a free loopback port; stripe_api talks to it."""
    with FakeStripe() as server:
        settings.STRIPE_API_BASE = server.url
        settings.STRIPE_SECRET_KEY = "sk_test_streetteam"
        yield server


@pytest.fixture
def programme(db):
    return ProgrammeFactory()


@pytest.fixture
def advocate(programme):
    return AdvocateFactory(programme=programme)


@pytest.fixture
def rep_code(advocate):
    return RepCodeFactory(advocate=advocate)


@pytest.fixture
def other_rep_code(programme):
    """A second advocate in the same programme, with their own code."""
    return RepCodeFactory(advocate=AdvocateFactory(programme=programme))


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def login(client):
    """Log `user` in on the test client through the real login form's backend."""

    def _login(user):
        assert client.login(email=user.email, password=PASSWORD)
        return client

    return _login


@pytest.fixture
def home_page(db):
    """A Wagtail HomePage at the root of the default site (campaign pages live under it)."""
    from cms.models import HomePage

    root = Page.get_first_root_node()
    home = root.add_child(instance=HomePage(title="Streetteam", slug="streetteam-home"))
    site = Site.objects.get(is_default_site=True)
    site.root_page = home
    site.save()
    return home


@pytest.fixture
def campaign_page(home_page, programme):
    from cms.models import CampaignPage

    return home_page.add_child(
        instance=CampaignPage(title="Spring offer", slug="spring-offer", programme=programme)
    )
