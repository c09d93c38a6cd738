"""What every reliability test checks after a race or a fault: the books, the events, Stripe."""

import threading
from collections.abc import Callable

from django.db import connection
from django.db.models import Count, Sum

from credits.models import (
    CreditAccount,
    CreditLot,
    EntryKind,
    LedgerEntry,
    LotKind,
    Purchase,
    UsageEvent,
)
from credits.selectors.ledger import ledger_invariant_violations


def race(*calls: Callable[[], object]) -> list[object]:
    """Run the calls in threads released together; each result, or the exception raised."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait()
            results[index] = calls[index]()
        except BaseException as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return results


def balance(organization) -> int:
    # No account row yet (nothing ever granted) is a zero balance.
    account = CreditAccount.objects.filter(organization=organization).first()
    return account.balance_micros if account else 0


def assert_books(organization, *, expected_micros: int, stripe_server) -> None:
    """The ledger adds up, no event counted twice, one Stripe charge per paid lot, and the
    balance is the one computed by hand."""
    assert ledger_invariant_violations() == []
    assert UsageEvent.objects.count() == UsageEvent.objects.values("event_id").distinct().count()
    usage = LedgerEntry.objects.filter(kind=EntryKind.USAGE)
    charged_events = UsageEvent.objects.filter(cost_micros__gt=0)
    # Batch entries (one per batch, lot and model) count each charged call once, on the entry
    # its cost began on, and every charged event points at that entry.
    batch_entries = usage.filter(api_model__isnull=False)
    assert sum(batch_entries.values_list("calls", flat=True)) == charged_events.count()
    assert not charged_events.filter(ledger_entry__isnull=True).exists()
    per_entry = batch_entries.values("reference", "lot", "api_model").annotate(n=Count("pk"))
    assert not per_entry.filter(n__gt=1).exists()
    # Every organization's usage debits equal its charged events, to the micro-dollar.
    debited = dict(
        usage.values("account__organization")
        .annotate(s=Sum("amount_micros"))
        .values_list("account__organization", "s")
    )
    costs = dict(
        charged_events.values("organization").annotate(s=Sum("cost_micros")).values_list("organization", "s")
    )
    assert {pk: -total for pk, total in debited.items() if total} == costs
    charged = [i for i in stripe_server.payment_intents() if i["status"] == "succeeded"]
    through_stripe = Purchase.objects.filter(granted_at__isnull=False, stripe_payment_intent_id__gt="")
    intent_ids = through_stripe.values_list("stripe_payment_intent_id", flat=True)
    assert sorted(i["id"] for i in charged) == sorted(intent_ids)
    assert CreditLot.objects.filter(kind=LotKind.PAID, purchase__in=through_stripe).count() == len(charged)
    assert balance(organization) == expected_micros
