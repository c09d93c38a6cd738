"""Two overlapping usage batches posted at the same moment debit every event exactly once."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from credits.models import CreditAccount, EntryKind, LedgerEntry, UsageEvent
from tests.credits.scenarios import event, grant
from tests.factories import OrganizationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _post_together(bodies: list[dict], api_key: str) -> list[dict]:
    barrier = threading.Barrier(len(bodies))
    results: list[dict] = [{} for _ in bodies]

    def post(index: int) -> None:
        try:
            client = Client()
            barrier.wait()
            response = client.post(
                reverse("credits:api_usage"),
                json.dumps(bodies[index]),
                content_type="application/json",
                headers={"Authorization": f"Bearer {api_key}"},
            )
            results[index] = {"status": response.status_code, **response.json()}
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("attempt", range(3))
def test_overlapping_batches_posted_concurrently_debit_each_event_once(api_key, attempt):
    first_org, second_org = OrganizationFactory(), OrganizationFactory()
    grant(first_org, amount_micros=100_000, now=timezone.now())
    # Each batch: 200 events of two organizations, named in opposite orders, sharing
    # 100 events (ids 100-199) with the other batch.
    left = [event(f"e{n}", first_org if n % 2 else second_org) for n in range(0, 200)]
    right = [event(f"e{n}", first_org if n % 2 else second_org) for n in range(300, 99, -1) if n < 300]

    results = _post_together([{"events": left}, {"events": right}], api_key)

    assert {result["status"] for result in results} <= {200, 201}, results
    accepted = results[0]["accepted"] + results[1]["accepted"]
    assert sorted(accepted) == sorted(f"e{n}" for n in range(300))
    assert len(set(results[0]["duplicates"]) | set(results[1]["duplicates"])) == 100
    assert UsageEvent.objects.count() == 300
    assert LedgerEntry.objects.filter(kind=EntryKind.USAGE).values("reference").distinct().count() == 300
    # 150 events each at 1,000 input tokens of Solar Pro 2 (150 micro-dollars).
    first = CreditAccount.objects.get(organization=first_org)
    second = CreditAccount.objects.get(organization=second_org)
    assert first.balance_micros == 100_000 - 150 * 150
    assert second.balance_micros == -150 * 150
    # The cached balances equal the sum of the ledger, to the micro-dollar.
    for account in (first, second):
        assert account.balance_micros == sum(account.entries.values_list("amount_micros", flat=True))
