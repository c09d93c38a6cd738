"""Playwright drives Debian's Chromium (no browser download is possible here)."""

import os
import time

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


@pytest.fixture(scope="session", autouse=True)
def _one_request_at_a_time_on_sqlite():
    """On SQLite the live server's threads share the test database's one in-memory connection,
    and two requests at once (an htmx preview racing a form post) interleave on it and fail at
    random. There the live server answers one request at a time; PostgreSQL keeps the threaded
    server, with a connection per request thread."""
    from django.conf import settings
    from django.core.servers.basehttp import WSGIServer
    from django.test.testcases import LiveServerThread

    if not settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        yield
        return
    class OneAtATime(WSGIServer):
        # The live server thread already put the shared connection in place for itself,
        # and this server answers in that thread.
        def __init__(self, *args, connections_override=None, **kwargs):
            super().__init__(*args, **kwargs)

    threaded = LiveServerThread.server_class
    LiveServerThread.server_class = OneAtATime
    yield
    LiveServerThread.server_class = threaded


@pytest.fixture(autouse=True)
def _no_console_errors(page):
    """A page that breaks CSP or throws in JavaScript fails the test that loaded it."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield
    # A refused form answers 400 on purpose (tests reach those states), and Chromium logs it.
    expected = ("favicon", "the server responded with a status of 400")
    assert [e for e in errors if not any(text in e for text in expected)] == []


@pytest.fixture(autouse=True)
def _no_request_in_flight_at_the_flush(page, transactional_db):
    """After each test the live server's database is emptied (TRUNCATE). A request the last
    step fired (an htmx preview) and the server is still answering holds locks the TRUNCATE
    needs while it waits for others, and PostgreSQL kills one as a deadlock: wait until the
    page has no request open (set up after the database, so torn down before its flush)."""
    in_flight: set = set()
    page.on("request", lambda request: in_flight.add(request))
    page.on("requestfinished", lambda request: in_flight.discard(request))
    page.on("requestfailed", lambda request: in_flight.discard(request))
    yield
    deadline = time.monotonic() + 10
    while in_flight and time.monotonic() < deadline and not page.is_closed():
        page.wait_for_timeout(50)
