"""Health endpoints for a load balancer: /healthz (the process answers) and /readyz (it can
serve: database reachable, no migration pending, broker answering)."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from kombu import Connection

logger = logging.getLogger(__name__)

HEALTH_PATHS = {"/healthz", "/healthz/"}
READY_PATHS = {"/readyz", "/readyz/"}
# A load balancer waits a few seconds per probe; a hung broker must not hold a worker longer.
BROKER_TIMEOUT_SECONDS = 2


def check_database(alias: str = DEFAULT_DB_ALIAS) -> str:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT 1")
    return "ok"


def pending_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


class PendingMigrations(Exception):
    code = "pending_migrations"


def check_migrations(alias: str = DEFAULT_DB_ALIAS) -> str:
    pending = pending_migrations(alias)
    if pending:
        raise PendingMigrations(f"{len(pending)} pending, first {pending[0]}")
    return "ok"


def check_broker(url: str | None = None) -> str:
    # A plain kombu connection to the URL in settings (not the Celery app's cached one), so
    # the check sees what the settings say now.
    with Connection(url or settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_SECONDS) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_SECONDS)
    return "ok"


def readiness() -> dict[str, str]:
    """Each check's state: "ok", or "failed: <error class>" (the details go to the log, not
    to whoever can reach the endpoint)."""
    checks: dict[str, Callable[[], str]] = {
        "database": check_database,
        "migrations": check_migrations,
        "broker": check_broker,
    }
    states: dict[str, str] = {}
    for name, check in checks.items():
        if name == "migrations" and states["database"] != "ok":
            states[name] = "skipped: database unavailable"
            continue
        try:
            states[name] = check()
        except Exception as error:
            # Any failure of a dependency means "not ready"; it is reported, never raised.
            logger.warning("readiness check %s failed: %s", name, error)
            # Migration names are no secret and tell the operator what to run.
            detail = str(error) if isinstance(error, PendingMigrations) else type(error).__name__
            states[name] = f"failed: {detail}"
    return states


def _health(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"status": "method not allowed"}, status=405)
    return JsonResponse({"status": "ok"})


def _ready(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return JsonResponse({"status": "method not allowed"}, status=405)
    checks = readiness()
    failed = sorted(name for name, state in checks.items() if state != "ok")
    body = {"status": "ready" if not failed else "unavailable", "failed": failed, "checks": checks}
    return JsonResponse(body, status=503 if failed else 200)


class HealthCheckMiddleware:
    """Answers the two health paths before anything else runs.

    First in the stack on purpose: a load balancer probes by the machine's IP (not in
    ALLOWED_HOSTS), over plain HTTP (SECURE_SSL_REDIRECT would answer 301), without a
    session or a login; and the answer is JSON, which needs no CSP.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path in HEALTH_PATHS:
            request.is_health_check = True  # type: ignore[attr-defined]
            return _health(request)
        if request.path in READY_PATHS:
            request.is_health_check = True  # type: ignore[attr-defined]
            return _ready(request)
        return self.get_response(request)
