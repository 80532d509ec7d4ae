"""Operating the app outside the test suite: local services (PostgreSQL, Redis) and the
production-style run (gunicorn, a Celery worker and beat). Standard library only, so it works
before anything else is installed."""
