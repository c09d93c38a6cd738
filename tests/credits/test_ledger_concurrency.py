"""Row locks on PostgreSQL: concurrent usage never loses a debit."""

import threading

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from credits.models import CreditAccount, LedgerEntry
from credits.services import ledger
from tests.factories import OrganizationFactory, paid_purchase

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
DRAWS_PER_THREAD = 25


def test_eight_threads_drawing_at_once_lose_nothing():
    organization = OrganizationFactory()
    paid_purchase(organization, 10_000, timezone.now())  # $100 + $3 bonus
    barrier = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            for draw in range(DRAWS_PER_THREAD):
                # Odd sub-cent amounts, so any lost update shows in the micro-dollars.
                ledger.debit_usage(
                    organization=organization,
                    cost_micros=123_457 + index,
                    now=timezone.now(),
                    reference=f"t{index}-{draw}",
                )
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    spent = sum((123_457 + i) * DRAWS_PER_THREAD for i in range(THREADS))
    account = CreditAccount.objects.get(organization=organization)
    assert account.balance_micros == 103_000_000 - spent
    total = LedgerEntry.objects.filter(account=account).aggregate(s=Sum("amount_micros"))["s"]
    assert total == account.balance_micros
    assert LedgerEntry.objects.filter(account=account, kind="usage").count() >= THREADS * DRAWS_PER_THREAD
