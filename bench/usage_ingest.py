"""Usage ingestion throughput: batches posted through the HTTP API, events per second.

Runs on the database DATABASE_URL names (PostgreSQL for a meaningful figure), in a
throwaway test database (test_<name>) created, migrated and dropped by Django's test
utilities; the posts go through the full request path (middleware, bearer auth,
validation, pricing, locks, ledger) with django.test.Client.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench .venv/bin/python bench/usage_ingest.py
"""

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment, teardown_test_environment  # noqa: E402

from accounts.models import Organization  # noqa: E402
from credits.models import ApiKey, CreditAccount, LedgerEntry, UsageEvent  # noqa: E402
from credits.services.ledger import adjust_credits  # noqa: E402
from credits.services.api_keys import api_key_issue  # noqa: E402

# (model, units) cycled through the events: LLM and document usage both.
MIX = [
    ("solar-pro-2", {"input_tokens": 1_200, "output_tokens": 300}),
    ("solar-mini", {"input_tokens": 800, "output_tokens": 200}),
    ("document-parse", {"pages": 3}),
    ("information-extract", {"pages": 1}),
]


def batches(*, count: int, size: int, organization_ids: list[int], start: datetime) -> list[bytes]:
    bodies = []
    for batch in range(count):
        events = []
        for n in range(size):
            model, units = MIX[n % len(MIX)]
            events.append({
                "event_id": f"bench-{batch}-{n}",
                "organization": organization_ids[(batch * size + n) % len(organization_ids)],
                "model": model,
                "occurred_at": (start + timedelta(milliseconds=batch * size + n)).isoformat(),
                **units,
            })
        bodies.append(json.dumps({"events": events}).encode())
    return bodies


def post_all(client: Client, bodies: list[bytes], raw_key: str, expect: int) -> float:
    started = time.perf_counter()
    for body in bodies:
        response = client.post(
            "/api/v1/usage/", body, content_type="application/json",
            headers={"Authorization": f"Bearer {raw_key}"},
        )
        if response.status_code != expect:
            raise SystemExit(f"unexpected {response.status_code}: {response.content[:300]!r}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--size", type=int, default=1_000)
    parser.add_argument("--organizations", type=int, default=10)
    options = parser.parse_args()
    vendor = connection.vendor
    if vendor != "postgresql":
        print(f"warning: running on {vendor}; set DATABASE_URL to PostgreSQL for the real figure")
    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        now = datetime.now(UTC)
        organizations = [
            Organization.objects.create(name=f"Bench {n}", created_at=now) for n in range(options.organizations)
        ]
        for organization in organizations:
            # Some credit first, so draws cross from a grant lot into overage.
            adjust_credits(organization=organization, amount_micros=5_000_000, reason="bench",
                           created_by=None, now=now)
        raw_key = api_key_issue(api_key=ApiKey(name="bench"), created_by=None, now=now)
        bodies = batches(count=options.batches, size=options.size,
                         organization_ids=[o.pk for o in organizations], start=now - timedelta(hours=1))
        client = Client()
        total = options.batches * options.size
        seconds = post_all(client, bodies, raw_key, expect=201)
        replay = post_all(client, bodies, raw_key, expect=200)
        assert UsageEvent.objects.count() == total
        ledger_sum = LedgerEntry.objects.aggregate(total=Sum("amount_micros"))["total"]
        cached_sum = CreditAccount.objects.aggregate(total=Sum("balance_micros"))["total"]
        assert ledger_sum == cached_sum, (ledger_sum, cached_sum)
        print(f"database: {vendor}; {options.batches} batches x {options.size} events, "
              f"{options.organizations} organizations")
        print(f"new events:       {total / seconds:,.0f} events/s ({seconds:.2f} s)")
        print(f"replayed (dupes): {total / replay:,.0f} events/s ({replay:.2f} s)")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


if __name__ == "__main__":
    main()
