"""The WSGI entry point loads the URLconf up front and freezes what it loaded out of the garbage
collector's generations (config/wsgi.py)."""

import gc
import importlib
import sys


def test_the_wsgi_module_freezes_the_loaded_objects():
    gc.unfreeze()
    sys.modules.pop("config.wsgi", None)
    try:
        wsgi = importlib.import_module("config.wsgi")
        assert callable(wsgi.application)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
