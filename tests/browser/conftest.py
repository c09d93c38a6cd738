"""Playwright drives Debian's Chromium (no browser download is possible here)."""

import importlib
import os

import pytest

from tests.conftest import CHROMIUM

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# around it (arranging data, asserting rows) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": CHROMIUM_ARGS,
        "headless": True,
    }


@pytest.fixture(autouse=True)
def _no_console_errors(page):
    """A page that breaks CSP or throws in JavaScript fails the test that loaded it."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    assert [e for e in errors if "favicon" not in e] == []
@pytest.fixture
def seeded_catalog(transactional_db):
    """The default catalog, limits, bonus schedule and thresholds, as the seed migration writes them.

    Transactional tests flush every table afterwards, so the migration's rows are gone for
    any test that runs after one. Django's serialized_rollback cannot restore them here:
    Playwright's greenlet gives the test its own connection object, which lacks the
    serialized copy. So the seed is written again when missing.
    """
    from django.apps import apps

    from credits.models import TierThreshold

    if not TierThreshold.objects.exists():
        importlib.import_module("credits.migrations.0002_seed_catalog").seed(apps, None)
