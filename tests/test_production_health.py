"""/healthz and /readyz as a load balancer sees them, with each dependency down in turn."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# The in-memory transport answers like a live broker, so these tests need no Redis.
LIVE_BROKER = override_settings(CELERY_BROKER_URL="memory://")


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@override_settings(SECURE_SSL_REDIRECT=True, ALLOWED_HOSTS=["billing.example.com"])
def test_health_paths_skip_host_check_https_redirect_login_and_csp(client):
    # A load balancer probes the machine by IP, over plain HTTP, without a session.
    for path in ("/healthz", "/readyz"):
        with LIVE_BROKER:
            response = client.get(path, HTTP_HOST="10.0.3.7:8000")

        assert response.status_code == 200, (path, response.status_code)
        assert "Content-Security-Policy" not in response
        assert response["Content-Type"] == "application/json"


@LIVE_BROKER
def test_readyz_is_ready_when_database_migrations_and_broker_are(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "failed": [],
        "checks": {"database": "ok", "migrations": "ok", "broker": "ok"},
    }


def test_readyz_names_the_broker_when_it_is_down(client, caplog):
    with override_settings(CELERY_BROKER_URL=f"redis://127.0.0.1:{_closed_port()}/0"):
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["failed"] == ["broker"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("failed: ")
    assert any("readiness check broker failed" in r.getMessage() for r in caplog.records)


def test_readyz_refuses_writes(client):
    assert client.post("/readyz").status_code == 405
    assert client.post("/healthz").status_code == 405


def _readyz_in_a_process(database_url: str) -> dict:
    """/readyz answered by a fresh process whose DATABASE_URL is `database_url`."""
    script = (
        "import json, django; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/readyz');"
        "print(json.dumps({'status': r.status_code, 'body': r.json()}))"
    )
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "billing_portal.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": "memory://",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_readyz_names_the_database_when_it_is_down():
    answer = _readyz_in_a_process(f"postgres://postgres@127.0.0.1:{_closed_port()}/billing")

    assert answer["status"] == 503
    assert answer["body"]["failed"] == ["database", "migrations"]
    assert answer["body"]["checks"]["database"].startswith("failed: ")
    assert answer["body"]["checks"]["migrations"] == "skipped: database unavailable"
    assert answer["body"]["checks"]["broker"] == "ok"


def test_readyz_names_pending_migrations(tmp_path):
    # A database nobody has migrated yet: reachable, but the code is ahead of it.
    answer = _readyz_in_a_process(f"sqlite:///{tmp_path / 'unmigrated.sqlite3'}")

    assert answer["status"] == 503
    assert answer["body"]["failed"] == ["migrations"]
    assert answer["body"]["checks"]["database"] == "ok"
    assert answer["body"]["checks"]["migrations"].startswith("failed: ")
    assert "pending, first " in answer["body"]["checks"]["migrations"]
