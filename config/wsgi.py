import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Import the URLconf, and with it every view module, now instead of on the first request, then
# take everything loaded so far out of the cyclic garbage collector's reach (gc.freeze): a
# worker holds a quarter of a million objects that live as long as it does, and each full
# collection walked them all, a pause of a tenth of a second for whichever request was running.
get_resolver().url_patterns  # noqa: B018 (the property loads the URLconf)
gc.freeze()
