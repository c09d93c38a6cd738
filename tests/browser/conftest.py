"""Playwright drives Debian's Chromium (no browser download is possible here)."""

import os
import threading
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


class _OpenRequests:
    """Requests Django is answering in this process (the live server's threads): counted by
    its own request_started / request_finished signals, so a request counts until its
    response is closed, whatever the browser did with it meanwhile."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    def started(self, **kwargs):
        with self.lock:
            self.count += 1

    def finished(self, **kwargs):
        with self.lock:
            self.count -= 1


@pytest.fixture(scope="session")
def _open_requests():
    from django.core.signals import request_finished, request_started

    counter = _OpenRequests()
    request_started.connect(counter.started, weak=False)
    request_finished.connect(counter.finished, weak=False)
    yield counter
    request_started.disconnect(counter.started)
    request_finished.disconnect(counter.finished)


@pytest.fixture(autouse=True)
def _no_request_open_at_the_flush(page, transactional_db, _open_requests):
    """After each test the live server's database is emptied (TRUNCATE). A request the last
    step fired (an htmx preview) that the server is still answering holds locks the TRUNCATE
    needs while waiting for others, and PostgreSQL kills one as a deadlock. So before the
    flush (this fixture is set up after the database, so torn down before it) the page is
    left, which also drops a preview still waiting out its htmx delay, and the server is
    given until every request it began has finished."""
    yield
    if not page.is_closed():
        page.goto("about:blank")
    deadline = time.monotonic() + 10
    while _open_requests.count > 0:
        if time.monotonic() > deadline:
            pytest.fail(f"{_open_requests.count} request(s) still open 10 s after the test ended")
        time.sleep(0.02)
