"""The test database for mutation runs (`make mutate`): migrated once, then copied.

mutmut runs pytest once to learn which tests reach which function, then once per mutant in a forked
child. Each of those sessions would build the in-memory SQLite test database again from the
migrations (about twenty seconds with Wagtail's). With this fixture (loaded by tests/conftest.py
when STREETTEAM_MUTATION_DB names the file) the first session saves the migrated database to that
file, and every later session copies that file into its own in-memory database with SQLite's
backup API, as Django's parallel test runner clones SQLite databases. Ordinary runs never
load it.
"""

import os
import sqlite3
from pathlib import Path

import pytest

TEMPLATE = Path(os.environ["STREETTEAM_MUTATION_DB"]).resolve()


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker):
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        if TEMPLATE.exists():
            creation = connection.creation
            test_name = creation._get_test_db_name()
            connection.close()
            connection.settings_dict["NAME"] = test_name
            from django.conf import settings

            settings.DATABASES[connection.alias]["NAME"] = test_name
            connection.ensure_connection()
            source = sqlite3.connect(TEMPLATE)
            try:
                source.backup(connection.connection)
            finally:
                source.close()
            yield
            connection.close()
            return
        old_config = setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
        connection.ensure_connection()
        partial = TEMPLATE.with_suffix(f".{os.getpid()}.partial")
        target = sqlite3.connect(partial)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
        partial.replace(TEMPLATE)
    yield
    with django_db_blocker.unblock():
        teardown_databases(old_config, verbosity=0)
