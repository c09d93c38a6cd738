"""Suite-wide fixtures and the rules for PostgreSQL-only and browser tests.

`@pytest.mark.postgres` tests need row locks, so they skip on SQLite; `@pytest.mark.browser`
tests need Debian's Chromium. CI sets REQUIRE_POSTGRES=1 / REQUIRE_BROWSER=1 so that a
missing database or browser fails the run instead of silently skipping.
"""

import importlib
import os
from pathlib import Path

import pytest
from django.conf import settings

from tests import factories, localstripe

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "postgres" in item.keywords and not _on_postgres():
            if os.environ.get("REQUIRE_POSTGRES"):
                item.add_marker(
                    pytest.mark.required_missing("PostgreSQL required, DATABASE_URL is not it")
                )
            else:
                item.add_marker(pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)"))
        if "browser" in item.keywords and not CHROMIUM.exists():
            if os.environ.get("REQUIRE_BROWSER"):
                item.add_marker(pytest.mark.required_missing(f"Chromium required, {CHROMIUM} missing"))
            else:
                item.add_marker(pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM}"))


@pytest.fixture(autouse=True)
def _fail_when_required_missing(request):
    marker = request.node.get_closest_marker("required_missing")
    if marker:
        pytest.fail(marker.args[0])


@pytest.fixture
def owner(db):
    return factories.MembershipFactory(role="owner")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner.user)
    return client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher is deliberately slow; tests only need it to be correct.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Admin tests log staff in with force_login; the second factor has its own tests
    # (tests/accounts/test_two_factor.py), which turn it back on.
    settings.ADMIN_REQUIRE_OTP = False


@pytest.fixture(autouse=True)
def _seeded_catalog(request):
    """Transactional tests flush every table afterwards, data migrations included; put the
    default catalog back for the next one (non-transactional tests roll back and keep it)."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")):
        return
    request.getfixturevalue("transactional_db")
    from django.apps import apps

    from credits.models import BonusRate

    if not BonusRate.objects.exists():
        seed = importlib.import_module("credits.migrations.0002_seed_catalog").seed
        seed(apps, None)
        mark = importlib.import_module("credits.migrations.0014_staff_operations").mark_program_models
        mark(apps, None)


@pytest.fixture(autouse=True)
def _no_process_cache(settings):
    # Tests change staff data (prices, limits, policy) with plain ORM updates and expect the
    # next request to see it, so the per-worker cache is off unless a test turns it on
    # (the query-count and API-key-cache tests do, with a bound of their own).
    settings.PROCESS_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters must not leak from one test into the next.
    from django.core.cache import cache

    from credits.selectors.process_cache import forget_process_cache

    # The in-process key and catalog cache too: transactional tests reseed the catalog
    # with new primary keys.
    forget_process_cache()
    cache.clear()
    yield
    cache.clear()
    forget_process_cache()


@pytest.fixture(scope="session")
def localstripe_server():
    """One localstripe for the session, on a free port, started from scratch."""
    port = localstripe.free_port()
    url = f"http://127.0.0.1:{port}"
    process = localstripe.start(port)
    try:
        localstripe.wait_until_up(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def stripe_server(localstripe_server, settings):
    """localstripe, emptied, with the site's SDK and pages pointed at it."""
    server = localstripe.LocalStripe(localstripe_server)
    server.reset()
    settings.STRIPE_API_BASE = localstripe_server
    settings.STRIPE_SECRET_KEY = localstripe.SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe"
    settings.STRIPE_JS_URL = f"{localstripe_server}/js.stripe.com/v3/"
    csp = {key: list(value) for key, value in settings.SECURE_CSP.items()}
    for directive in ("script-src", "frame-src", "connect-src"):
        csp[directive].append(localstripe_server)
    settings.SECURE_CSP = csp
    return server


@pytest.fixture
def statements_sent():
    """For each statement the default connection sends while the test runs: its SQL, and
    whether it went in a pipeline (billing_portal.compiled_queries.read_together)."""
    from django.db import connection

    sent: list[tuple[str, bool]] = []

    def record(execute, sql, params, many, context):
        raw = context["connection"].connection
        sent.append((sql, connection.vendor == "postgresql" and raw.pgconn.pipeline_status != 0))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield sent
