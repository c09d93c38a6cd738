"""Template context every page needs: where customers reach support, and where the site's
links start."""

from django.conf import settings
from django.urls import get_script_prefix


def support(request):
    return {"support_email": settings.SUPPORT_EMAIL}


def script_prefix(request):
    # Every {% url %} starts with it (set per request from SCRIPT_NAME), so a fragment cached
    # with links in it names it in its key: one request's prefix is never served to another.
    return {"script_prefix": get_script_prefix()}
