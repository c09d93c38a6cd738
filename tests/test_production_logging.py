"""Logs: one structured line per request and per job run, the request id on errors, and no
secret or card number written, whatever the code logs."""

import io
import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import path, reverse

from billing_portal.logs import ContextFilter, JsonFormatter, TextFormatter, redact
from credits.tasks import run_billing_jobs
from tests.factories import PASSWORD, InvitationFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
CARD = "4242 4242 4242 4242"


def _boom(request):
    raise ValueError(f"charge failed for card {CARD} with key sk_live_51Hq8s3cr3tKey")


def _ok(request):
    return HttpResponse("ok")


# A URLconf of this module's own, for the server-error test.
urlpatterns = [path("boom/", _boom), path("ok/", _ok)]


@pytest.fixture
def log_output():
    """What the production handler writes: the same filter and JSON formatter, into a buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("stripe key sk_live_51Hq8sAbCdEf0123", "51Hq8sAbCdEf0123"),
        ("restricted rk_test_9zYxWvUt", "9zYxWvUt"),
        ("webhook secret whsec_4fG7hJ2kL9", "4fG7hJ2kL9"),
        ("api key bpk_Zq3-rT9_xW", "Zq3-rT9_xW"),
        ("Authorization: Bearer bpk_abc.def", "abc.def"),
        ("postgres://billing:Pa55w0rd!@db.internal:5432/billing", "Pa55w0rd!"),
        ("smtp+tls://mailer:m4il-s3cret@smtp.example.com:587", "m4il-s3cret"),
        ("password=hunter22&email=a@b.c", "hunter22"),
        ('{"password1": "hunter22", "cvc": "123"}', "hunter22"),
        ('{"cvc": "123"}', '"123"'),
        (f"card {CARD}", CARD),
        ("card 4000-0027-6000-3184 declined", "4000-0027-6000-3184"),
        ("pan 378282246310005", "378282246310005"),
    ],
)
def test_redact_masks_secrets_and_card_numbers(text, secret):
    assert secret not in redact(text)


def test_redact_keeps_ids_amounts_and_times():
    text = "org 42 charged 1000000 micros at 1764400000001 (purchase 12345678901234)"
    # 1764400000001 and 12345678901234 fail the Luhn check: they are not card numbers.
    assert redact(text) == text


def test_redact_keeps_hex_ids_whose_digits_would_pass_for_a_card():
    # A request id is 32 random hex digits: about one in 250 holds a run of 13+ decimal
    # digits passing the Luhn check, which was masked inside the id (a flaky log test).
    digits = CARD.replace(" ", "")
    request_id = f"cb836be{digits}aae44d53c88"
    assert redact(f"request {request_id} done") == f"request {request_id} done"
    assert redact(f"id=pm_{digits} card {CARD}.") == "id=pm_[card] card [card]."


@override_settings(SECRET_KEY="a-long-plain-secret-value-xyz", STRIPE_SECRET_KEY="plainkey12345")
def test_redact_masks_the_secret_values_in_settings_even_without_a_known_shape():
    masked = redact("settings were a-long-plain-secret-value-xyz and plainkey12345")

    assert "a-long-plain-secret-value-xyz" not in masked
    assert "plainkey12345" not in masked


def test_one_json_line_per_request_with_its_id(client, log_output):
    response = client.get(reverse("accounts:login"))

    request_lines = [line for line in _lines(log_output) if line["logger"] == "billing_portal.request"]
    assert len(request_lines) == 1
    line = request_lines[0]
    assert line["message"] == "GET /accounts/login/ 200"
    assert line["method"] == "GET"
    assert line["path"] == "/accounts/login/"
    assert line["status"] == 200
    assert line["user_id"] == ""
    assert line["request_id"] == response["X-Request-ID"]
    assert len(response["X-Request-ID"]) == 32


def test_a_load_balancer_request_id_is_kept_and_a_hostile_one_replaced(client, log_output):
    kept = client.get(reverse("accounts:login"), HTTP_X_REQUEST_ID="lb-7f3a9c21-0001")
    replaced = client.get(reverse("accounts:login"), HTTP_X_REQUEST_ID="x\nforged line")

    assert kept["X-Request-ID"] == "lb-7f3a9c21-0001"
    assert replaced["X-Request-ID"] != "x\nforged line"
    assert "forged" not in log_output.getvalue()


def test_the_signed_in_user_is_named_by_id(client, owner, log_output):
    client.force_login(owner.user)
    client.get(reverse("accounts:login"))

    (line,) = [line for line in _lines(log_output) if line["logger"] == "billing_portal.request"]
    assert line["user_id"] == owner.user.pk


def test_tokens_in_paths_are_not_logged(client, log_output):
    invitation = InvitationFactory()

    response = client.get(reverse("accounts:invitation", args=[invitation.token]))

    assert response.status_code == 200
    assert invitation.token not in log_output.getvalue()
    (line,) = [line for line in _lines(log_output) if line["logger"] == "billing_portal.request"]
    assert line["path"] == "/accounts/invitations/<slug:token>/"


def test_a_login_post_logs_no_password(client, log_output):
    user = UserFactory()
    client.post(reverse("accounts:login"), {"username": user.email, "password": PASSWORD})
    client.post(reverse("accounts:login"), {"username": user.email, "password": "Wr0ng-Pa55"})

    output = log_output.getvalue()
    assert PASSWORD not in output
    assert "Wr0ng-Pa55" not in output
    assert output.count('"logger": "billing_portal.request"') == 2


@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_is_logged_with_the_request_id_and_no_secrets(client, log_output):
    client.raise_request_exception = False

    response = client.get("/boom/")

    assert response.status_code == 500
    lines = _lines(log_output)
    error = next(line for line in lines if line["logger"] == "django.request")
    assert error["level"] == "ERROR"
    assert error["request_id"] == response["X-Request-ID"]
    assert "ValueError" in error["exception"]
    # The HttpRequest Django attaches is not dumped (cookies, POST data).
    assert "request" not in error
    request_line = next(line for line in lines if line["logger"] == "billing_portal.request")
    assert request_line["level"] == "ERROR"
    assert request_line["status"] == 500
    output = log_output.getvalue()
    assert CARD not in output
    assert "s3cr3tKey" not in output
    assert "[card]" in output


def test_healthz_is_not_logged_but_a_failing_readyz_is(client, log_output):
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        client.get("/healthz")
        response = client.get("/readyz")

    lines = [line for line in _lines(log_output) if line["logger"] == "billing_portal.request"]
    assert [line["path"] for line in lines] == ["/readyz"]
    assert lines[0]["status"] == 503
    assert lines[0]["request_id"] == response["X-Request-ID"]


def test_a_job_run_is_one_line(log_output):
    run_billing_jobs.apply(args=[datetime(2026, 3, 1, tzinfo=UTC).isoformat()])

    jobs = [line for line in _lines(log_output) if line["logger"] == "billing_portal.jobs"]
    assert len(jobs) == 1
    assert jobs[0]["message"] == "job credits.run_billing_jobs SUCCESS"
    assert jobs[0]["state"] == "SUCCESS"
    assert jobs[0]["task"] == "credits.run_billing_jobs"
    assert jobs[0]["task_id"]
    assert json.loads(jobs[0]["result"])["expire_bonus_lots"] == "0"


def test_text_format_is_one_line_of_key_value_pairs():
    record = logging.makeLogRecord(
        {"name": "billing_portal.request", "levelname": "INFO", "msg": "GET / 200", "status": 200,
         "path": "/", "request_id": "abc123abc123"}
    )

    line = TextFormatter().format(record)

    assert "\n" not in line
    assert line.endswith("INFO billing_portal.request GET / 200 status=200 path=/ request_id=abc123abc123")


def _log_in_a_process(log_format: str | None) -> str:
    script = (
        "import django, logging; django.setup();"
        "logging.getLogger('billing_portal.test').warning('key sk_live_abcdef123456 used')"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("LOG_FORMAT", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env["DJANGO_SETTINGS_MODULE"] = "billing_portal.settings"
    if log_format:
        env["LOG_FORMAT"] = log_format
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=True,
    )
    return result.stderr.strip()


def test_log_format_json_is_set_from_the_environment():
    json_line = json.loads(_log_in_a_process("json"))
    text_line = _log_in_a_process(None)

    assert json_line["logger"] == "billing_portal.test"
    assert json_line["message"] == "key sk_live_[redacted] used"
    assert text_line.endswith("WARNING billing_portal.test key sk_live_[redacted] used")
