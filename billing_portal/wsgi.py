"""WSGI entry point (gunicorn billing_portal.wsgi): the pages and the machine API, each with
its own middleware (billing_portal/api_handler.py)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")
# get_wsgi_application sets Django up; the API's handler is made after it.
pages = get_wsgi_application()

from billing_portal.api_handler import ApiWSGIHandler, BillingApplication  # noqa: E402

application = BillingApplication(pages=pages, api=ApiWSGIHandler())

# What is loaded by now (Django, the apps, the settings) lives as long as the worker: kept out
# of the collector's way, a full collection no longer walks it again (measured: about 0.1 ms
# of collection per page, most of it rescanning these objects). Garbage first, so none of it
# is frozen with them.
gc.collect()
gc.freeze()
