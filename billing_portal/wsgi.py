"""WSGI entry point (gunicorn billing_portal.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")
application = get_wsgi_application()
