"""Settings for `python -m bench`: the production settings (config.settings, read from the
environment the bench sets: DEBUG=false, PostgreSQL, Redis) plus a URLconf that adds the bare
baseline views. They live here so that they never exist in production."""

import tempfile
from pathlib import Path

from config.settings import *  # noqa: F403 (the production settings, unchanged but for these)

ROOT_URLCONF = "bench.urls"
# Static files are collected (the manifest storage of DEBUG=false needs them) outside the tree,
# so a bench run leaves no `staticfiles/` behind for anyone else.
STATIC_ROOT = Path(tempfile.gettempdir()) / "streetteam-bench-static"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], Path(__file__).resolve().parent / "templates"]  # noqa: F405
