"""`make serve` as an operator runs it: PostgreSQL and Redis, DEBUG off, gunicorn, a Celery
worker and beat under honcho; then Ctrl-C stops every process."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urljoin, urlsplit
from urllib.request import HTTPCookieProcessor, Request, build_opener

import psycopg
import pytest
from django.db import connection

from tests import localstripe

ROOT = Path(__file__).resolve().parent.parent
# Redis database 7 is this test's alone (the suite's other Celery test uses 0 with a queue of
# its own); the queue name below keeps two runs of this test apart too.
BROKER_URL = os.environ.get("PRODUCTION_TEST_BROKER_URL", "redis://127.0.0.1:6379/7")
HASHED = re.compile(r"\.[0-9a-f]{12}\.(css|js|svg|png|ico)$")
STARTUP_SECONDS = 60

# Run in the serve process's environment once the database is migrated: an owner, a staff
# user, and an organization whose $100 purchase 70 days ago left a $3 bonus lot past its
# period, which the beat-scheduled billing jobs must expire.
SEED = """
from datetime import timedelta
from django.utils import timezone
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory, paid_purchase
MembershipFactory(user=UserFactory(email="owner@serve.test"), role="owner")
UserFactory(email="staff@serve.test", is_staff=True, is_superuser=True)
paid_purchase(OrganizationFactory(), 10_000, timezone.now() - timedelta(days=70))
"""


def _database_url(name: str) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


def _admin_url() -> str:
    return _database_url("postgres")


class _Assets(HTMLParser):
    """Everything a page loads or runs, to hold it to the CSP."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.stylesheets: list[str] = []
        self.images: list[str] = []
        self.inline_scripts = 0
        self.style_elements = 0
        self.style_attributes = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "style" in attributes:
            self.style_attributes += 1
        if tag == "script":
            if attributes.get("src"):
                self.scripts.append(attributes["src"])
            else:
                self.inline_scripts += 1
        elif tag == "style":
            self.style_elements += 1
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes["href"])
        elif tag == "img" and attributes.get("src"):
            self.images.append(attributes["src"])


class Site:
    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def get(self, path: str, timeout: float = 10):
        try:
            response = self.opener.open(urljoin(self.base, path), timeout=timeout)
        except HTTPError as error:
            return error.code, dict(error.headers), error.read().decode()
        return response.status, dict(response.headers), response.read().decode(errors="replace")

    def log_in(self, email: str, password: str) -> None:
        status, _, page = self.get("/accounts/login/")
        assert status == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urlencode({"username": email, "password": password, "csrfmiddlewaretoken": token})
        response = self.opener.open(Request(f"{self.base}/accounts/login/", data=body.encode()))
        assert response.url != f"{self.base}/accounts/login/", "login failed"

    def assert_page_keeps_the_csp(self, path: str) -> None:
        """The page runs no inline script or style, and every asset it loads is a hashed static
        file served with a long cache, or comes from an origin its CSP allows."""
        status, headers, page = self.get(path)
        assert status == 200, (path, status)
        policy = dict(
            part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";")
        )
        assets = _Assets()
        assets.feed(page)
        assert (assets.inline_scripts, assets.style_elements, assets.style_attributes) == (0, 0, 0)
        for directive, urls in (
            ("script-src", assets.scripts),
            ("style-src", assets.stylesheets),
            ("img-src", assets.images),
        ):
            for url in urls:
                if url.startswith("data:"):
                    assert "data:" in policy[directive].split(), (path, url)
                    continue
                parts = urlsplit(url)
                if parts.netloc:
                    origin = f"{parts.scheme}://{parts.netloc}"
                    assert origin in policy[directive].split(), (path, url, policy[directive])
                    # localstripe serves Stripe.js here; the real one is on js.stripe.com.
                    with self.opener.open(url, timeout=10) as response:
                        assert response.status == 200
                    continue
                assert "'self'" in policy[directive].split(), (path, url)
                asset_status, asset_headers, _ = self.get(url)
                assert asset_status == 200, (path, url)
                # Static files (not views such as the admin's /admin/jsi18n/) are hashed.
                if parts.path.startswith("/static/"):
                    assert HASHED.search(parts.path), (path, url)
                    assert "immutable" in asset_headers["Cache-Control"], (url, asset_headers)


def _wait_ready(site: Site, process: subprocess.Popen, output: Path) -> dict:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make serve exited ({process.returncode}):\n{output.read_text()}")
        try:
            status, _, body = site.get("/readyz", timeout=3)
        except (URLError, ConnectionError, TimeoutError):
            status = 0
        if status == 200:
            return json.loads(body)
        time.sleep(0.5)
    pytest.fail(f"/readyz never answered 200:\n{output.read_text()}")


def _expired_bonus_entries(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM credits_ledgerentry WHERE kind = 'expiry'"
        ).fetchone()[0]


def _stop(process: subprocess.Popen) -> None:
    # Ctrl-C in a terminal signals the whole foreground group: make, the launcher and honcho.
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=30)


@pytest.mark.postgres
@pytest.mark.django_db
def test_make_serve_runs_web_worker_and_beat_then_stops_them(tmp_path, localstripe_server):
    database = f"billing_serve_{uuid.uuid4().hex[:12]}"
    database_url = _database_url(database)
    with psycopg.connect(_admin_url(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    port = localstripe.free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DEBUG")},
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": BROKER_URL,
        "CELERY_RESULT_BACKEND": BROKER_URL,
        "CELERY_QUEUE": f"serve-test-{uuid.uuid4().hex}",
        "CELERY_WORKER_CONCURRENCY": "1",
        "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp_path / "celerybeat-schedule"),
        "BILLING_JOBS_INTERVAL_SECONDS": "2",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_FORMAT": "json",
        "STRIPE_API_BASE": localstripe_server,
        "STRIPE_JS_URL": f"{localstripe_server}/js.stripe.com/v3/",
        "STRIPE_SECRET_KEY": localstripe.SECRET_KEY,
        # The admin pages are checked for their assets here; the second factor has its tests.
        "ADMIN_REQUIRE_OTP": "False",
    }
    output = tmp_path / "serve.log"
    site = Site(f"http://127.0.0.1:{port}")
    with output.open("w") as log:
        # `-o`: the virtualenv this test runs in is the one to use; make must not reinstall it
        # because pyproject.toml is newer than its stamp.
        process = subprocess.Popen(
            ["make", "-o", ".venv/.installed", "serve"], cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        ready = _wait_ready(site, process, output)
        assert ready["checks"] == {"database": "ok", "migrations": "ok", "broker": "ok"}
        assert site.get("/healthz")[0] == 200
        subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SEED], cwd=ROOT, env=env, check=True,
            capture_output=True, timeout=60,
        )

        # The login page and its hashed, long-cached static files, through gunicorn.
        status, headers, page = site.get("/accounts/login/")
        assert status == 200
        assert headers["Server"].startswith("gunicorn")
        assert "Sign in" in page or "Log in" in page
        stylesheet = re.search(r'href="(/static/css/[^"]+\.css)"', page).group(1)
        assert HASHED.search(stylesheet)
        css_status, css_headers, css = site.get(stylesheet)
        assert css_status == 200
        assert css_headers["Cache-Control"] == "max-age=315360000, public, immutable"
        assert len(css) > 100
        site.assert_page_keeps_the_csp("/accounts/login/")

        # The owner's card page loads Stripe.js (localstripe's here) under the CSP.
        site.log_in("owner@serve.test", "correct-horse-battery-9")
        site.assert_page_keeps_the_csp("/billing/payment-methods/add/")
        # The admin's own CSS and JavaScript, hashed and allowed.
        staff = Site(site.base)
        staff.log_in("staff@serve.test", "correct-horse-battery-9")
        staff.assert_page_keeps_the_csp("/admin/")
        staff.assert_page_keeps_the_csp("/admin/accounts/user/add/")

        # Beat schedules the billing jobs every 2 s; the worker runs them: the bonus expires.
        deadline = time.monotonic() + 30
        while _expired_bonus_entries(database_url) == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _expired_bonus_entries(database_url) == 1
    finally:
        _stop(process)
        text = output.read_text()
        with psycopg.connect(_admin_url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    # Every process honcho started has exited, none had to be killed.
    started = dict(re.findall(r"system\s*\| (\w+)\.1 started \(pid=(\d+)\)", text))
    assert sorted(started) == ["beat", "web", "worker"], text
    for name, pid in started.items():
        assert re.search(rf"{name}\.1 stopped \(rc=", text), (name, text)
        with pytest.raises(ProcessLookupError):
            os.killpg(int(pid), 0)
    assert "SIGKILL" not in text

    # The logs are JSON lines: one per request, one per job run, with no secret in them.
    lines = [json.loads(line.split("| ", 1)[1]) for line in text.splitlines() if "| {" in line]
    requests = [line for line in lines if line["logger"] == "billing_portal.request"]
    assert any(line["path"] == "/accounts/login/" and line["status"] == 200 for line in requests)
    assert all(line["request_id"] for line in requests)
    jobs = [line for line in lines if line["logger"] == "billing_portal.jobs"]
    assert jobs and all(line["state"] == "SUCCESS" for line in jobs)
    assert env["SECRET_KEY"] not in text
    assert "correct-horse-battery-9" not in text


def _serve_preflight(extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"} | extra
    return subprocess.run(
        [sys.executable, "-m", "billing_portal.serve"], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=60, check=False,
    )


def test_make_serve_refuses_sqlite_with_a_clear_error():
    result = _serve_preflight({"DATABASE_URL": "sqlite:///serve-refused.sqlite3", "DEBUG": "False"})

    assert result.returncode == 2
    assert "DATABASE_URL must point at PostgreSQL" in result.stderr
    assert not (ROOT / "serve-refused.sqlite3").exists()


def test_make_serve_refuses_debug():
    result = _serve_preflight({"DEBUG": "True"})

    assert result.returncode == 2
    assert "DEBUG is on" in result.stderr


@pytest.mark.postgres
@pytest.mark.django_db
def test_make_serve_says_when_the_broker_does_not_answer():
    result = _serve_preflight({
        "DEBUG": "False",
        "DATABASE_URL": _database_url(connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": f"redis://:s3cret-pw@127.0.0.1:{localstripe.free_port()}/0",
    })

    assert result.returncode == 2
    assert "the Celery broker in CELERY_BROKER_URL does not answer" in result.stderr
    assert "s3cret-pw" not in result.stderr
