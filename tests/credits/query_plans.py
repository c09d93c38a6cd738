"""What PostgreSQL reads to answer a query, for tests that a read stays flat however big
the ledger grows (PostgreSQL only: EXPLAIN ANALYZE)."""

import json
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from credits.models import CreditLot, EntryKind, LedgerEntry, LotKind


def fill_ledger(account, count):
    """`count` usage entries of the account's paid lot, a minute apart back from now (only
    the entries: balances and lots are not what these tests read)."""
    lot = CreditLot.objects.filter(account=account, kind=LotKind.PAID).first()
    now = timezone.now()
    LedgerEntry.objects.bulk_create(
        LedgerEntry(
            account=account,
            lot=lot,
            kind=EntryKind.USAGE,
            amount_micros=-1,
            balance_after_micros=0,
            created_at=now - timedelta(minutes=i),
            reference=f"bulk-{i}",
        )
        for i in range(count)
    )


def ledger_entries_read(queryset) -> int:
    """How many ledger rows PostgreSQL reads to answer `queryset` (those it returns and those
    its filters drop), with the plans a big ledger gets: on a few hundred rows it would
    rather read them all, and it needs the table's statistics to know a kind is rare."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE credits_ledgerentry")
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
    (plan,) = json.loads(queryset.explain(format="json", analyze=True))
    nodes, read = [plan["Plan"]], 0
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("Plans", []))
        if node.get("Relation Name") == "credits_ledgerentry":
            read += (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
    return read
