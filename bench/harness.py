"""What every benchmark shares: a fresh PostgreSQL database, gunicorn started on it (one
worker per core), logged-in sessions, a multi-process HTTP load generator, and pgbench.

Figures are noisy on a shared machine; each script prints ratios measured in one run, side
by side, so the noise hits both sides of a ratio alike. Nothing here runs in the test suite.
"""

import http.client
import json
import logging
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/billing_usage_bench"
CORES = os.cpu_count() or 1
# Per-request headers (session cookies) the load plans pick from; set before the clients fork.
COOKIES: list[dict[str, str]] = []
# gthread: each worker also serves other requests while one waits for its commit to reach
# the disk; the same server config measures both sides of every ratio.
THREADS = 4


def database_url() -> str:
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        raise SystemExit("The benchmarks run on PostgreSQL: set BENCH_DATABASE_URL=postgres://...")
    return url


def _psql_args(url: str) -> tuple[list[str], str]:
    parts = urlsplit(url)
    args = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
    ]
    return args, parts.path.lstrip("/")


def server_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"{url}?conn_max_age=600",
        BENCH_VIEWS="1",
        DEBUG="False",
        DJANGO_SETTINGS_MODULE="billing_portal.settings",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    return env


def fresh_database(url: str) -> None:
    """Drop and recreate the bench database, then migrate it."""
    args, name = _psql_args(url)
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", *args, "-d", "postgres", "-q", "-c", sql], check=True)
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=server_env(url), check=True
    )


def setup_django(url: str) -> None:
    """Django in this process, on the bench database (to create rows and sessions)."""
    os.environ.update(server_env(url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn on the bench database, one worker per core."""

    def __init__(self, url: str):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [
                str(Path(PYTHON).parent / "gunicorn"),
                "billing_portal.wsgi",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(CORES),
                "--worker-class",
                "gthread",
                "--threads",
                str(THREADS),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=server_env(url),
            stdout=self.log,
            stderr=self.log,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _ = request(self.port, "GET", "/accounts/login/")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not start; see {self.log.name}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000


# A client's work: (method, path, body, headers) for its n-th request; expected statuses.
Plan = Callable[[int, int], tuple[str, str, bytes | None, dict]]


def _client(args) -> tuple[int, list[float], int]:
    port, plan, client, seconds, ok, limit = args
    latencies, errors, n = [], 0, 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop and (limit is None or n < limit):
        method, path, body, headers = plan(client, n)
        started = time.perf_counter()
        status, _ = request(port, method, path, body, headers)
        latencies.append(time.perf_counter() - started)
        if status not in ok:
            errors += 1
        n += 1
    return n, latencies, errors


def load(
    port: int, plan: Plan, *, clients: int, seconds: float, ok=(200,), limit: int | None = None
) -> LoadResult:
    """`clients` processes sending requests back to back for `seconds` (or `limit` each)."""
    context = multiprocessing.get_context("fork")
    started = time.perf_counter()
    with context.Pool(clients) as pool:
        results = pool.map(_client, [(port, plan, c, seconds, ok, limit) for c in range(clients)])
    elapsed = time.perf_counter() - started
    latencies = [latency for _, lats, _ in results for latency in lats]
    return LoadResult(sum(n for n, _, _ in results), elapsed, latencies, sum(e for _, _, e in results))


@dataclass
class Interleaved:
    """A page measured against the bare view in turns: bare, page, bare, page, ..., bare."""

    pages: list[LoadResult]
    bares: list[LoadResult]

    @property
    def ratios(self) -> list[float]:
        # Each turn of the page against the bare view just before and just after it: a
        # neighbour's burst on this shared machine hits both sides of a ratio, not one.
        return [
            page.per_second / ((before.per_second + after.per_second) / 2)
            for page, before, after in zip(self.pages, self.bares, self.bares[1:], strict=False)
        ]

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.ratios)

    def lines(self, *, page_name: str, target: str) -> list[str]:
        bare_rates = [bare.per_second for bare in self.bares]
        page_rates = [page.per_second for page in self.pages]
        latencies = [latency for page in self.pages for latency in page.latencies]
        return [
            f"bare view: {min(bare_rates):,.0f}-{max(bare_rates):,.0f} req/s in {len(self.bares)} turns; "
            f"errors: {sum(bare.errors for bare in self.bares)}",
            f"{page_name}: {min(page_rates):,.0f}-{max(page_rates):,.0f} req/s in {len(self.pages)} turns "
            f"(p50 {statistics.median(latencies) * 1000:.1f} ms); "
            f"errors: {sum(page.errors for page in self.pages)}",
            "ratio of each turn: " + ", ".join(f"{ratio:.2f}x" for ratio in self.ratios),
            f"ratio: {self.median_ratio:.2f}x, the median of the turns (target {target})",
        ]

    @property
    def errors(self) -> int:
        return sum(result.errors for result in [*self.pages, *self.bares])


def interleaved(
    port: int,
    *,
    page: Plan,
    bare: Plan,
    clients: int,
    turns: int,
    seconds: float,
    page_ok=(200,),
    before_page: Callable[[int], None] | None = None,
) -> Interleaved:
    """The page and the bare view in `turns` alternating turns of `seconds` each, starting
    and ending with the bare view; `before_page(turn)` runs before each turn of the page."""
    bares = [load(port, bare, clients=clients, seconds=seconds)]
    pages = []
    for turn in range(turns):
        if before_page is not None:
            before_page(turn)
        pages.append(load(port, page, clients=clients, seconds=seconds, ok=page_ok))
        bares.append(load(port, bare, clients=clients, seconds=seconds))
    return Interleaved(pages=pages, bares=bares)


def pgbench_hot_row_tps(url: str, *, clients: int, seconds: int) -> float:
    """PostgreSQL's own one-hot-row update rate: every transaction updates the same row."""
    args, name = _psql_args(url)
    subprocess.run(
        [
            "psql",
            *args,
            "-d",
            name,
            "-q",
            "-c",
            "DROP TABLE IF EXISTS bench_hot_row; CREATE TABLE bench_hot_row (id int PRIMARY KEY, n bigint);"
            " INSERT INTO bench_hot_row VALUES (1, 0);",
        ],
        check=True,
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("UPDATE bench_hot_row SET n = n + 1 WHERE id = 1;\n")
    output = subprocess.run(
        [
            "pgbench",
            *args,
            "-n",
            "-c",
            str(clients),
            "-j",
            str(min(clients, CORES)),
            "-T",
            str(seconds),
            "-f",
            script.name,
            name,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in output.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise SystemExit(f"no tps in pgbench output:\n{output}")


def logged_in_cookie(organization) -> str:
    """The cookies a browser holds once a new owner of `organization` has signed in and seen a
    page (Django in this process): the session's and the CSRF token's. Django sets the CSRF
    cookie with the first page that has a form and a browser sends it back, so a page is
    measured as a returning browser sees it, not as a first visit each time."""
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from accounts.models import Membership, Role, User

    user = User.objects.create_user(
        email=f"bench-{organization.pk}-{time.monotonic_ns()}@example.com", password="x" * 12
    )
    Membership.objects.create(user=user, organization=organization, role=Role.OWNER)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    # (Its request log line would land among the benchmark's figures.)
    logging.disable(logging.INFO)
    try:
        status = client.get(reverse("credits:credit")).status_code
    finally:
        logging.disable(logging.NOTSET)
    if status != 200:
        raise SystemExit("the bench owner's first page did not answer 200")
    names = (settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME)
    return "; ".join(f"{name}={client.cookies[name].value}" for name in names)


def funded_organizations(*, count: int, credit_micros: int) -> tuple[str, list, dict[str, str]]:
    """What the ingest benchmarks start from: a fresh bench database (Django set up on it in
    this process) holding `count` organizations with `credit_micros` of credit each, and an
    API key. Returns the database URL, the organizations and the API's request headers."""
    url = database_url()
    fresh_database(url)
    setup_django(url)
    from accounts.models import Organization
    from credits.models import ApiKey
    from credits.services.api_keys import api_key_issue
    from credits.services.ledger import adjust_credits

    now = datetime.now(UTC)
    organizations = [Organization.objects.create(name=f"Bench {n}", created_at=now) for n in range(count)]
    for organization in organizations:
        adjust_credits(
            organization=organization, amount_micros=credit_micros, reason="bench", created_by=None, now=now
        )
    raw_key = api_key_issue(api_key=ApiKey(name="bench"), created_by=None, now=now)
    return url, organizations, {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}


def books_problems() -> list[str]:
    """Ledger invariants and rollups against events, checked after a run (empty: consistent)."""
    from credits.selectors.ledger import ledger_invariant_violations
    from credits.selectors.usage import usage_rollup_violations

    return ledger_invariant_violations() + usage_rollup_violations()


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    version = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return f"{CORES} cores ({model}), {version}, gunicorn {CORES} workers x {THREADS} threads"


def report(title: str, lines: list[str]) -> None:
    print(f"\n== {title} ==")
    print(f"machine: {machine()}")
    for line in lines:
        print(line)


def json_body(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
