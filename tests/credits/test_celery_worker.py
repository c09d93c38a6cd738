"""One real round trip: a Celery worker on the local Redis runs the billing jobs."""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection

from credits.models import EntryKind, LedgerEntry
from credits.tasks import run_billing_jobs
from tests.factories import OrganizationFactory, paid_purchase

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_worker_runs_the_billing_jobs():
    bought = datetime(2026, 3, 10, 9, tzinfo=UTC)
    paid_purchase(OrganizationFactory(), 10_000, bought)
    # A queue of our own so no other worker on this Redis takes the task.
    queue = f"test-{uuid.uuid4().hex}"
    env = {**os.environ, "DATABASE_URL": _database_url()}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "billing_portal", "worker",
         "--pool=solo", "-Q", queue, "--without-gossip", "--without-mingle", "-l", "warning"],
        cwd=ROOT,
        env=env,
    )
    try:
        result = run_billing_jobs.apply_async(
            args=[(datetime(2026, 4, 10, tzinfo=UTC) + timedelta(minutes=1)).isoformat()],
            queue=queue,
        )
        answer = result.get(timeout=60)
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    assert answer["expire_bonus_lots"] == "3000000"
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRY).count() == 1
