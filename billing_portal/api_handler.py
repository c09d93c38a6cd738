"""The WSGI application: the machine API (/api/) served by the same Django with only the
middleware an API needs (settings.API_MIDDLEWARE), every other path by Django's own handler
with all of settings.MIDDLEWARE.

Why: a usage post carries a bearer key, never a session or a cookie, and answers JSON. The
browser's middleware (sessions, CSRF, authentication and its second factor, messages, the
HTML-only headers, htmx, static files) did nothing for it but cost about a quarter of a
millisecond of every post, on the path the API platform calls millions of times a day.
What an API answer needs stays: the request id and log line, the health checks, the
security middleware (HTTPS redirect, HSTS, nosniff), the JSON error shape and the Host
check against ALLOWED_HOSTS (CommonMiddleware).

Django's test client and the ASGI entry point keep the full middleware for every path; the
tests in tests/test_api_handler.py drive this application itself.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

from credits.middleware import API_PREFIX


class ApiWSGIHandler(WSGIHandler):
    """Django's WSGI handler, its middleware chain built from settings.API_MIDDLEWARE."""

    def load_middleware(self, is_async: bool = False) -> None:
        # Django's own loop (django.core.handlers.base.BaseHandler.load_middleware) reads
        # settings.MIDDLEWARE; this is the same loop over the API's list, synchronous only
        # (WSGI).
        if is_async:
            raise ImproperlyConfigured("ApiWSGIHandler serves WSGI only.")
        self._view_middleware: list[Callable] = []
        self._template_response_middleware: list[Callable] = []
        self._exception_middleware: list[Callable] = []
        # (django-stubs does not declare the handler's own response method.)
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(settings.API_MIDDLEWARE):
            try:
                instance = import_string(path)(handler)
            except MiddlewareNotUsed:
                continue
            if instance is None:
                raise ImproperlyConfigured(f"Middleware factory {path} returned None.")
            if hasattr(instance, "process_view"):
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


class BillingApplication:
    """Sends /api/ to the API's handler and everything else to the pages' handler."""

    def __init__(self, *, pages: WSGIHandler, api: WSGIHandler):
        self.pages, self.api = pages, api

    def __call__(self, environ, start_response):
        handler = self.api if environ.get("PATH_INFO", "").startswith(API_PREFIX) else self.pages
        return handler(environ, start_response)
