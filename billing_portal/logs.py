"""Structured logs: one line per request and per job run, a request id on every line of a
request, JSON or key=value, and secrets and card numbers scrubbed before anything is written."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # Only for annotations: settings import this module, before Django is set up.
    from django.http import HttpRequest, HttpResponse

# What the current request (or job) is; the filter copies it onto every record logged while
# it runs, so a traceback from deep inside a service still names the request it broke.
log_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "log_context", default=None
)

# A load balancer's own id is kept when it looks like one (so its logs and ours join);
# anything else in the header is ignored, since it would be written to our logs verbatim.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

_REDACTED = "[redacted]"
_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Stripe secret, restricted and publishable keys, webhook secrets, our API keys.
    (re.compile(r"\b((?:sk|rk|pk)_(?:live|test)_)[0-9A-Za-z]+"), r"\1" + _REDACTED),
    (re.compile(r"\b(whsec_)[0-9A-Za-z]+"), r"\1" + _REDACTED),
    (re.compile(r"\b(bpk_)[0-9A-Za-z_-]+"), r"\1" + _REDACTED),
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',]+"), r"\1" + _REDACTED),
    # user:password@ in a URL (DATABASE_URL, EMAIL_URL, CELERY_BROKER_URL in an error).
    (re.compile(r"(://[^:/@\s]*:)[^@\s]+@"), r"\1" + _REDACTED + "@"),
    # password=..., "password": "...", cvc, csrf tokens as form fields or JSON keys.
    (
        re.compile(
            r"(?i)((?:password\w*|passwd|secret\w*|cvc|cvv|csrfmiddlewaretoken|token|api_key)"
            r"[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+"
        ),
        r"\1" + _REDACTED,
    ),
]
# 13 to 19 digits, optionally grouped by spaces or dashes: the shape of a card number (PAN).
# Only runs that pass the Luhn check are masked, so ids and amounts stay readable; a run
# glued to letters or digits is part of a hex id (a request id, a UUID, a hash), not a card.
_CARD_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(?:\d[ -]?){12,18}\d(?![0-9A-Za-z])")

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[card]" if 13 <= len(digits) <= 19 and _luhn_valid(digits) else match.group(0)


def _configured_secrets() -> list[str]:
    """The secret values in settings, wherever they might turn up (an exception message)."""
    from django.conf import settings

    if not settings.configured:
        return []
    names = ("SECRET_KEY", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")
    values = [str(getattr(settings, name, "") or "") for name in names]
    smtp_password = settings.MAILERS.get("default", {}).get("OPTIONS", {}).get("password")
    values.append(str(smtp_password or ""))
    # Short values would blank out ordinary words; the real ones are long.
    return [value for value in values if len(value) >= 8]


def redact(text: str) -> str:
    """`text` with known secrets, key-shaped strings, passwords and card numbers masked."""
    for secret in _configured_secrets():
        text = text.replace(secret, _REDACTED)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return _CARD_CANDIDATE.sub(_mask_card, text)


class ContextFilter(logging.Filter):
    """Copies the current request's or job's context onto the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in (log_context.get() or {}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    # Only plain values: django.request attaches the HttpRequest itself, which must not be
    # dumped (it carries cookies and POST data).
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD_ATTRS
        and not key.startswith("_")
        and isinstance(value, str | int | float | bool)
    }


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """One JSON object per line (LOG_FORMAT=json), for a log shipper to index."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in _extra_fields(record).items():
            entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """One readable line: time, level, logger, message, then key=value pairs."""

    def format(self, record: logging.LogRecord) -> str:
        pairs = " ".join(
            f"{key}={json.dumps(value) if isinstance(value, str) and ' ' in value else value}"
            for key, value in _extra_fields(record).items()
        )
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        if pairs:
            line = f"{line} {pairs}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return redact(line)


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING: everything to stderr through one handler, in the chosen format."""
    formatter = "json" if log_format == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "billing_portal.logs.ContextFilter"}},
        "formatters": {
            "json": {"()": "billing_portal.logs.JsonFormatter"},
            "text": {"()": "billing_portal.logs.TextFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": formatter,
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Our request line replaces runserver's and gunicorn's access logs.
            "django.server": {"level": "WARNING"},
            # Celery's "received" and "succeeded" lines; our job line replaces them (failures,
            # at ERROR with the traceback, still come through).
            "celery.app.trace": {"level": "WARNING"},
            "celery.worker.strategy": {"level": "WARNING"},
        },
    }


request_logger = logging.getLogger("billing_portal.request")


def _route(request: HttpRequest) -> str:
    """The URL pattern, not the path: tokens in invitation, reset and status links stay out
    of the logs, and lines group by page."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return "/" + match.route
    return request.path


class RequestLogMiddleware:
    """Gives each request an id (X-Request-ID, kept from the load balancer when sane) and
    writes one line when it ends: method, route, status, duration, user."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = log_context.set({"request_id": request_id})
        started = time.monotonic()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            self._log(request, response, started)
            return response
        finally:
            log_context.reset(token)

    def _log(self, request: HttpRequest, response: HttpResponse, started: float) -> None:
        # A load balancer asks for health every few seconds; only a failing answer is news.
        if getattr(request, "is_health_check", False) and response.status_code == 200:
            return
        user = getattr(request, "user", None)
        route = _route(request)
        request_logger.log(
            logging.ERROR if response.status_code >= 500 else logging.INFO,
            "%s %s %s",
            request.method,
            route,
            response.status_code,
            extra={
                "method": request.method or "",
                "path": route,
                "status": response.status_code,
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
                "user_id": user.pk if user is not None and user.is_authenticated else "",
            },
        )
