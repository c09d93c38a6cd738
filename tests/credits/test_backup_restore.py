"""A pg_dump of a database with activity restores into a fresh database with sound books."""

import os
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from credits.models import LedgerEntry
from credits.services.ledger import adjust_credits, debit_usage, expire_bonus_lots
from tests.factories import OrganizationFactory, UserFactory, paid_purchase

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _pg(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def test_dump_and_restore_keep_every_ledger_invariant(tmp_path):
    staff = UserFactory(is_staff=True)
    for amount in (10_000, 50_000, 500_000):
        organization = OrganizationFactory()
        paid_purchase(organization, amount, timezone.now())
        debit_usage(organization=organization, cost_micros=amount * 13_337, now=timezone.now())
        adjust_credits(organization=organization, amount_micros=-1_234_567, reason="test",
                       created_by=staff, now=timezone.now())
    expire_bonus_lots(now=timezone.now() + timedelta(days=400))
    db = connection.settings_dict
    host, port, user = db["HOST"] or "127.0.0.1", str(db["PORT"] or 5432), db["USER"]
    dump = tmp_path / "billing.dump"
    restored = f"restore_{uuid.uuid4().hex[:12]}"

    _pg("pg_dump", "-Fc", "-h", host, "-p", port, "-U", user, "-f", str(dump), db["NAME"])
    _pg("createdb", "-h", host, "-p", port, "-U", user, restored)
    try:
        _pg("pg_restore", "--no-owner", "-h", host, "-p", port, "-U", user, "-d", restored, str(dump))
        env = {**os.environ, "DATABASE_URL": f"postgres://{user}@{host}:{port}/{restored}"}
        check = subprocess.run([sys.executable, "manage.py", "check_ledger"], cwd=ROOT, env=env,
                               capture_output=True, text=True)
        count = subprocess.run(
            ["psql", "-h", host, "-p", port, "-U", user, "-d", restored, "-tAc",
             "select count(*) from credits_ledgerentry"],
            capture_output=True, text=True, check=True,
        )
    finally:
        _pg("dropdb", "-h", host, "-p", port, "-U", user, "--if-exists", restored)

    assert check.returncode == 0, check.stderr
    assert "Ledger consistent" in check.stdout
    assert int(count.stdout.strip()) == LedgerEntry.objects.count() > 0
