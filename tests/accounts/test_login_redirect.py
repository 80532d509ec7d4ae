"""Where a login lands: managers in the admin, advocates on their dashboard, `?next=` first."""

import pytest
from django.contrib.auth.models import Group, Permission

from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN_URL = "/account/login/"


def _log_in(client, user, next_url=None):
    url = f"{LOGIN_URL}?next={next_url}" if next_url else LOGIN_URL
    response = client.post(url, {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return response["Location"]


def test_a_manager_lands_in_the_admin(client):
    manager = UserFactory(is_staff=True, is_superuser=True)
    assert _log_in(client, manager) == "/admin/"


def test_an_editor_whose_group_may_open_the_admin_lands_in_it(client):
    editors = Group.objects.create(name="Programme editors")
    editors.permissions.add(Permission.objects.get(codename="access_admin"))
    editor = UserFactory()
    editor.groups.add(editors)
    assert _log_in(client, editor) == "/admin/"


def test_an_advocate_lands_on_the_dashboard(client):
    assert _log_in(client, UserFactory()) == "/dashboard/"


def test_next_wins_over_the_managers_admin(client):
    manager = UserFactory(is_staff=True, is_superuser=True)
    assert _log_in(client, manager, next_url="/dashboard/payouts/") == "/dashboard/payouts/"
