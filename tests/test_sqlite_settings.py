"""SQLite as `make run` configures it: a web server, webhooks and jobs writing at once."""

import threading

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper
from django.db.utils import OperationalError


def _sqlite(path, alias: str) -> DatabaseWrapper:
    """A connection to a file database with the settings' SQLite options, as `alias`."""
    database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": dict(settings.SQLITE_OPTIONS),
    }
    configured = connections.configure_settings({"default": settings.DATABASES["default"], alias: database})
    wrapper = DatabaseWrapper(configured[alias], alias=alias)
    connections[alias] = wrapper  # thread-local: transaction.atomic(using=alias) finds it
    return wrapper


@pytest.fixture(autouse=True)
def _own_databases(django_db_blocker):
    # These tests open their own file databases, not the test database.
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def database_file(tmp_path):
    path = tmp_path / "portal.sqlite3"
    setup = _sqlite(path, "setup")
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE counter (id integer primary key, n integer not null)")
        cursor.execute("INSERT INTO counter (id, n) VALUES (1, 0)")
    setup.close()
    return path


def test_the_database_runs_in_write_ahead_log_mode_with_a_busy_timeout(database_file):
    wrapper = _sqlite(database_file, "check")
    with wrapper.cursor() as cursor:
        assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert cursor.execute("PRAGMA busy_timeout").fetchone()[0] == 20_000
    wrapper.close()


def test_a_transaction_takes_the_write_lock_when_it_begins(database_file):
    """A reading transaction that will write holds the lock from its start, so another
    writer waits at BEGIN instead of failing when it upgrades its read lock later."""
    import sqlite3

    _sqlite(database_file, "first")
    other = sqlite3.connect(database_file, timeout=0, isolation_level=None)
    try:
        with transaction.atomic(using="first"):
            connections["first"].cursor().execute("SELECT n FROM counter").fetchone()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # free again once the first committed
        other.execute("ROLLBACK")
    finally:
        other.close()
        connections["first"].close()


def test_two_writers_at_once_both_succeed_and_lose_no_update(database_file):
    errors: list[Exception] = []
    start = threading.Barrier(2)

    def writer(alias: str) -> None:
        wrapper = _sqlite(database_file, alias)
        start.wait()
        try:
            for _ in range(25):
                # Read-modify-write: the pattern that met "database is locked".
                with transaction.atomic(using=alias):
                    cursor = wrapper.cursor()
                    (n,) = cursor.execute("SELECT n FROM counter WHERE id = 1").fetchone()
                    cursor.execute("UPDATE counter SET n = %s WHERE id = 1", [n + 1])
        except OperationalError as error:
            errors.append(error)
        finally:
            wrapper.close()

    threads = [threading.Thread(target=writer, args=(f"writer{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    check = _sqlite(database_file, "check")
    with check.cursor() as cursor:
        assert cursor.execute("SELECT n FROM counter").fetchone()[0] == 50
    check.close()
