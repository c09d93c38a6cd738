"""Overlapping usage batches posted at the same moment debit every event exactly once, and
their entries and rollups lose nothing."""

import json
import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from credits.models import CreditAccount, EntryKind, LedgerEntry, UsageEvent, UsageRollup
from credits.selectors.ledger import ledger_invariant_violations
from credits.selectors.usage import usage_rollup_violations
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
    # Each charged event points at a batch entry, and the entries count every call once.
    usage = LedgerEntry.objects.filter(kind=EntryKind.USAGE)
    assert not UsageEvent.objects.filter(ledger_entry__isnull=True).exists()
    assert sum(usage.values_list("calls", flat=True)) == 300
    # Two batches at most, each one entry per (lot, model) of each organization.
    assert usage.count() <= 2 * 3
    assert usage_rollup_violations() == []
    assert ledger_invariant_violations() == []
    assert sum(UsageRollup.objects.values_list("calls", flat=True)) == 300
    # 150 events each at 1,000 input tokens of Solar Pro 2 (150 micro-dollars).
    first = CreditAccount.objects.get(organization=first_org)
    second = CreditAccount.objects.get(organization=second_org)
    assert first.balance_micros == 100_000 - 150 * 150
    assert second.balance_micros == -150 * 150
    # The cached balances equal the sum of the ledger, to the micro-dollar.
    for account in (first, second):
        assert account.balance_micros == sum(account.entries.values_list("amount_micros", flat=True))


def test_six_batches_racing_over_three_lots_lose_nothing():
    """Six batches, each of three organizations (named in different orders) and half shared
    with another batch: every call is debited once, from the right lots, and the books and
    rollups add up to the micro-dollar."""
    from datetime import timedelta

    from credits.services.usage import record_usage_batch, validate_usage_batch
    from tests.credits.scenarios import buy
    from tests.reliability.books import race

    now = timezone.now()
    organizations = [OrganizationFactory() for _ in range(3)]
    for organization in organizations:
        buy(organization, amount_cents=10_000, now=now)  # $100 paid + $3 bonus
        grant(organization, amount_micros=1_000_000, now=now, expires_at=now + timedelta(days=300))
    batches = []
    for b in range(6):
        ids = range(b * 100, b * 100 + 200)  # overlaps the next batch by 100 ids
        order = organizations[b % 3 :] + organizations[: b % 3]
        events = [
            event(f"r{n}", order[n % 3], model="information-extract", pages=1, at=now) for n in ids
        ]
        batches.append(validate_usage_batch(payload={"events": events}))

    results = race(*[
        (lambda events=events: record_usage_batch(events=events, api_key=None, now=now)) for events in batches
    ])

    assert not [r for r in results if isinstance(r, BaseException)], results
    accepted = [event_id for result in results for event_id in result.accepted]
    assert sorted(accepted) == sorted(f"r{n}" for n in range(700))
    # 700 calls at $0.04 over three organizations: r0..r699 by n % 3 of each batch's order.
    per_org = {
        organization.pk: UsageEvent.objects.filter(organization=organization).count() * 40_000
        for organization in organizations
    }
    for organization in organizations:
        account = CreditAccount.objects.get(organization=organization)
        assert account.balance_micros == 104_000_000 - per_org[organization.pk]
    usage = LedgerEntry.objects.filter(kind=EntryKind.USAGE)
    assert sum(usage.values_list("calls", flat=True)) == 700
    assert not UsageEvent.objects.filter(ledger_entry__isnull=True).exists()
    assert ledger_invariant_violations() == []
    assert usage_rollup_violations() == []


@pytest.mark.parametrize("attempt", range(3))
@pytest.mark.parametrize("second_order", ["same", "reversed"])
def test_same_event_ids_racing_for_two_organizations_are_recorded_once(second_order, attempt):
    """Two batches of different organizations (so not serialized by one lock) carry the same
    ids: the unique index gives each id to one of them, and the other's debit for it is
    rolled back and redone, so nothing is charged twice or lost. In opposite orders too: the
    events are inserted in one order whatever the batch's, so neither waits for the other's
    rows while holding some the other waits for (a deadlock, a 500 for one of them)."""
    from credits.services.usage import record_usage_batch, validate_usage_batch
    from tests.reliability.books import race

    now = timezone.now()
    first, second = OrganizationFactory(), OrganizationFactory()
    ids = [f"same-{n:03}" for n in range(300)]
    batches = [
        validate_usage_batch(payload={"events": [event(key, organization, at=now) for key in order]})
        for organization, order in (
            (first, ids),
            (second, ids[::-1] if second_order == "reversed" else ids),
        )
    ]

    results = race(*[
        (lambda events=events: record_usage_batch(events=events, api_key=None, now=now)) for events in batches
    ])

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(results[0].accepted + results[1].accepted) == ids
    assert UsageEvent.objects.count() == 300
    for organization in (first, second):
        owned = UsageEvent.objects.filter(organization=organization).count()
        assert CreditAccount.objects.get(organization=organization).balance_micros == -150 * owned
    assert sum(LedgerEntry.objects.filter(kind=EntryKind.USAGE).values_list("calls", flat=True)) == 300
    assert ledger_invariant_violations() == []
    assert usage_rollup_violations() == []


def test_a_first_usage_never_holds_one_account_while_waiting_for_another(monkeypatch):
    """An organization without a credit account (made by a shell) and one with: batch A has
    locked the second's account when it finds the first's missing. Meanwhile the missing
    account is made and batch D locks both, in order, waiting for A. Were A now to lock the
    first's account, each would wait for the other (PostgreSQL aborts one: a 500). A lets go
    of what it holds, makes the account and starts again: both batches are recorded."""
    from credits.services import locks
    from credits.services.usage import record_usage_batch, validate_usage_batch

    now = timezone.now()
    low, high = OrganizationFactory(), OrganizationFactory()
    assert low.pk < high.pk
    CreditAccount.objects.filter(organization=low).delete()
    holding, go_on = threading.Event(), threading.Event()
    locked_rows = locks.compiled_rows

    def pause_a_after_its_first_lock(*args, **kwargs):
        rows = locked_rows(*args, **kwargs)
        if threading.current_thread().name == "A" and not holding.is_set():
            holding.set()
            go_on.wait(10)
        return rows

    monkeypatch.setattr(locks, "compiled_rows", pause_a_after_its_first_lock)
    results: dict[str, object] = {}

    def post(name: str) -> None:
        try:
            events = [event(f"{name}-{n}", org, at=now) for n, org in enumerate((low, high))]
            batch = validate_usage_batch(payload={"events": events})
            results[name] = record_usage_batch(events=batch, api_key=None, now=now)
        except Exception as error:  # reported below
            results[name] = error
        finally:
            connection.close()

    a = threading.Thread(target=post, args=("A",), name="A")
    a.start()
    assert holding.wait(10)  # A holds the second's account; the first has none
    CreditAccount.objects.create(organization=low)  # committed, as another first usage would
    d = threading.Thread(target=post, args=("D",), name="D")
    d.start()
    d.join(0.5)  # D has locked the first's account and waits for the second's
    go_on.set()
    a.join(30)
    d.join(30)

    assert [name for name, result in sorted(results.items()) if isinstance(result, Exception)] == [], results
    assert UsageEvent.objects.count() == 4
    assert CreditAccount.objects.filter(organization=low).count() == 1
    assert ledger_invariant_violations() == []
    assert usage_rollup_violations() == []
