"""billing_portal/api_handler.py: the WSGI application gunicorn serves. /api/ runs with the
API's middleware only, every other path with all of it. Django's test client builds its own
handler from MIDDLEWARE, so these tests drive the WSGI application itself."""

import io
import json
import sys

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from django.utils import timezone

from billing_portal import wsgi
from billing_portal.api_handler import ApiWSGIHandler, BillingApplication
from credits.models import ApiKey, CreditAccount, UsageEvent
from credits.services.api_keys import api_key_issue
from tests.factories import OrganizationFactory
from tests.test_security_headers import PRODUCTION

pytestmark = pytest.mark.django_db


def _call(application, method, path, *, body=b"", headers=None, secure=True, script_name=""):
    """One request through a WSGI application: (status code, headers, body)."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": script_name,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443" if secure else "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "https" if secure else "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), response_headers

    # As Django's test client does: the test's transaction must survive the request's end.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, start_response)
        content = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], content


def _header(headers, name):
    return [value for key, value in headers if key.lower() == name.lower()]


def _application():
    # Made in the test, so the middleware reads the test's settings.
    return BillingApplication(pages=WSGIHandler(), api=ApiWSGIHandler())


def test_gunicorn_serves_the_split_application_with_the_apis_middleware_in_order():
    assert isinstance(wsgi.application, BillingApplication)
    assert isinstance(wsgi.application.api, ApiWSGIHandler)
    assert settings.API_MIDDLEWARE == [
        "billing_portal.logs.RequestLogMiddleware",
        "billing_portal.health.HealthCheckMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "credits.middleware.ApiJsonErrorsMiddleware",
        "django.middleware.common.CommonMiddleware",
    ]


def test_a_usage_post_is_recorded_without_the_browsers_middleware():
    organization = OrganizationFactory()
    key = api_key_issue(api_key=ApiKey(name="gateway"), created_by=None, now=timezone.now())
    body = json.dumps(
        {
            "events": [
                {
                    "event_id": "through-wsgi",
                    "organization": organization.pk,
                    "model": "solar-pro-2",
                    "occurred_at": timezone.now().isoformat(),
                    "input_tokens": 1_000,
                }
            ]
        }
    ).encode()

    status, headers, content = _call(
        _application(),
        "POST",
        "/api/v1/usage/",
        body=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )

    assert status == 201, content
    assert json.loads(content)["accepted"] == ["through-wsgi"]
    assert UsageEvent.objects.filter(event_id="through-wsgi").count() == 1
    assert CreditAccount.objects.get(organization=organization).balance_micros == -150
    # What an API answer keeps: its request id and the security middleware's headers.
    assert _header(headers, "X-Request-ID")
    assert _header(headers, "X-Content-Type-Options") == ["nosniff"]
    # What it runs without: no cookie (no session, no CSRF token), no HTML-only headers.
    assert _header(headers, "Set-Cookie") == []
    assert _header(headers, "Content-Security-Policy") == []
    assert _header(headers, "X-Frame-Options") == []


def test_api_errors_keep_the_json_shape():
    application = _application()

    missing = _call(application, "GET", "/api/v1/no-such-thing/")
    unauthorized = _call(
        application, "POST", "/api/v1/usage/", body=b"{}", headers={"Content-Type": "application/json"}
    )

    assert missing[0] == 404
    assert json.loads(missing[2])["error"]["code"] == "not_found"
    assert unauthorized[0] == 401
    assert "error" in json.loads(unauthorized[2])


def test_the_api_still_checks_the_host_header():
    status, _headers, content = _call(
        _application(), "GET", "/api/v1/openapi.json", headers={"Host": "evil.example"}
    )

    assert status == 400
    assert json.loads(content)["error"]["code"] == "bad_request"


@override_settings(**PRODUCTION)
def test_the_api_is_redirected_to_https_and_sends_hsts_in_production():
    application = _application()

    plain = _call(application, "GET", "/api/v1/openapi.json", secure=False)
    secure = _call(application, "GET", "/api/v1/openapi.json")

    assert plain[0] == 301
    assert _header(plain[1], "Location") == ["https://testserver/api/v1/openapi.json"]
    assert secure[0] == 200
    assert _header(secure[1], "Strict-Transport-Security")


def test_pages_keep_every_middleware():
    status, headers, _content = _call(_application(), "GET", "/accounts/login/")

    assert status == 200
    assert _header(headers, "X-Frame-Options") == ["DENY"]
    assert _header(headers, "Content-Security-Policy")
    assert any(cookie.startswith("csrftoken=") for cookie in _header(headers, "Set-Cookie"))
