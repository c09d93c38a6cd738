"""/billing/usage/ and /billing/credit/ through gunicorn on PostgreSQL: p50 for an organization
with 1,000,000 usage events over p50 for one with 10, measured in the same run. Target: at
most 1.2x.

The big organization's million events are generated in SQL (generate_series) in about a
minute: ten days of Solar Pro 2 calls, one batch ledger entry per 1,000 calls with each event
pointing at it, and the daily rollups built from the events as the data migration does. The
small organization's ten events (one a day for the same ten days, so both pages show ten
table rows) go through the real ingest service. Before those ten days each organization used
up an older grant in calls debited one ledger entry per call, as the ledger was written before
per-batch entries: a million such entries for the big one, ten for the small one (the credit
page lists used-up lots with when they ran out). One client process alternates between the
four pages so all see the same machine load.

    .venv/bin/python bench/usage_page.py          # or: make bench-usage-page
"""

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

EVENTS_SQL = """
INSERT INTO credits_ledgerentry
    (account_id, lot_id, kind, amount_micros, balance_after_micros, created_at, reference, memo,
     api_model_id, calls, input_tokens, output_tokens, pages)
SELECT %(account)s, %(lot)s, 'usage', -270000, %(balance)s - 270000 * b,
       %(now)s - interval '10 days' + b * %(step)s * interval '1 second', md5(b::text)::uuid::text, '',
       %(model)s, 1000, 1000000, 200000, 0
FROM generate_series(1, %(batches)s) AS b;

INSERT INTO credits_usageevent
    (event_id, organization_id, api_model_id, input_tokens, output_tokens, pages, occurred_at,
     recorded_at, cost_micros, free, batch, api_key_id, ledger_entry_id)
SELECT 'gen-' || g, %(organization)s, %(model)s, 1000, 200, 0,
       %(now)s - interval '10 days' + (g / 1000 + 1) * %(step)s * interval '1 second'
           - (g %% 1000) * interval '1 ms',
       %(now)s, 270, false, md5((g / 1000 + 1)::text)::uuid,
       NULL,
       (SELECT min(id) FROM credits_ledgerentry WHERE account_id = %(account)s AND kind = 'usage') + g / 1000
FROM generate_series(0, %(events)s - 1) AS g;

INSERT INTO credits_usagerollup
    (organization_id, day, api_model_id, calls, input_tokens, output_tokens, pages, cost_micros)
SELECT organization_id, (occurred_at AT TIME ZONE 'UTC')::date, api_model_id, count(*),
       sum(input_tokens), sum(output_tokens), sum(pages), sum(cost_micros)
FROM credits_usageevent WHERE organization_id = %(organization)s
GROUP BY 1, 2, 3;

UPDATE credits_creditlot SET remaining_micros = remaining_micros - 270000 * %(batches)s
WHERE id = %(lot)s;
UPDATE credits_creditaccount SET balance_micros = balance_micros - 270000 * %(batches)s
WHERE id = %(account)s;
ANALYZE;
"""

# An older grant used up one ledger entry per call (the ledger's shape before per-batch
# entries): the lot, its grant entry, then an entry per call, the last at `ran_out`.
LEGACY_SQL = """
WITH lot AS (
    INSERT INTO credits_creditlot (account_id, kind, original_micros, remaining_micros, reason, created_at)
    VALUES (%(account)s, 'grant', 270 * %(calls)s, 0, 'bench: used up before per-batch entries',
            %(ran_out)s - %(calls)s * interval '1 second')
    RETURNING id
), granted AS (
    INSERT INTO credits_ledgerentry
        (account_id, lot_id, kind, amount_micros, balance_after_micros, created_at, reference, memo,
         calls, input_tokens, output_tokens, pages)
    SELECT %(account)s, lot.id, 'grant', 270 * %(calls)s, 270 * %(calls)s,
           %(ran_out)s - %(calls)s * interval '1 second', '', 'bench', 0, 0, 0, 0
    FROM lot
)
INSERT INTO credits_ledgerentry
    (account_id, lot_id, kind, amount_micros, balance_after_micros, created_at, reference, memo,
     calls, input_tokens, output_tokens, pages)
SELECT %(account)s, lot.id, 'usage', -270, 270 * (%(calls)s - g),
       %(ran_out)s - (%(calls)s - g) * interval '1 second', 'legacy-' || g, '', 0, 0, 0, 0
FROM lot, generate_series(1, %(calls)s) AS g;
"""

PAGES = ["/billing/usage/", "/billing/credit/"]


def page(client: int, n: int):
    # small, big, small, big: the usage page, then the credit page.
    return "GET", PAGES[n // 2 % 2], None, harness.COOKIES[n % 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="per organization")
    options = parser.parse_args()
    url = harness.database_url()
    harness.fresh_database(url)
    harness.setup_django(url)
    from django.db import connection

    from accounts.models import Organization
    from credits.models import ApiModel, CreditAccount, CreditLot, UsageEvent
    from credits.selectors.ledger import ledger_invariant_violations
    from credits.selectors.usage import usage_rollup_violations
    from credits.services.ledger import adjust_credits
    from credits.services.usage import record_usage_batch, validate_usage_batch

    now = datetime.now(UTC)
    small, big = (Organization.objects.create(name=name, created_at=now) for name in ("Small", "Big"))
    for organization in (small, big):
        adjust_credits(
            organization=organization, amount_micros=1_000_000_000, reason="bench", created_by=None, now=now
        )
    for n in range(10):  # one event a day for ten days, each its own batch
        at = now - timedelta(days=n)
        event = {
            "event_id": f"small-{n}",
            "organization": small.pk,
            "model": "solar-pro-2",
            "occurred_at": at.isoformat(),
            "input_tokens": 1_000,
            "output_tokens": 200,
        }
        record_usage_batch(events=validate_usage_batch(payload={"events": [event]}), api_key=None, now=at)
    account = CreditAccount.objects.get(organization=big)
    lot = CreditLot.objects.get(account=account)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for organization, calls in ((small, 10), (big, options.events)):
            cursor.execute(
                LEGACY_SQL,
                {
                    "account": CreditAccount.objects.get(organization=organization).pk,
                    "calls": calls,
                    "ran_out": now - timedelta(days=11),
                },
            )
        cursor.execute(
            EVENTS_SQL,
            {
                "account": account.pk,
                "lot": lot.pk,
                "balance": account.balance_micros,
                "now": now,
                "model": ApiModel.objects.get(slug="solar-pro-2").pk,
                "organization": big.pk,
                "events": options.events,
                "batches": options.events // 1_000,
                "step": 864_000 / (options.events // 1_000),
            },
        )
    generated = time.perf_counter() - started
    problems = ledger_invariant_violations() + usage_rollup_violations()
    count = UsageEvent.objects.filter(organization=big).count()
    harness.COOKIES.extend(
        [{"Cookie": harness.logged_in_cookie(small)}, {"Cookie": harness.logged_in_cookie(big)}]
    )

    with harness.Server(url) as server:
        harness.load(server.port, page, clients=1, seconds=30, limit=20)
        result = harness.load(server.port, page, clients=1, seconds=900, limit=4 * options.requests)
    lines = [
        f"generated {count:,} events, their batch entries and rollups, and {options.events + 10:,} "
        f"per-call entries of used-up lots in SQL in {generated:.0f} s; books: "
        + ("ledger and rollups consistent" if not problems else f"{len(problems)} problems"),
    ]
    for index, path in enumerate(PAGES):
        small_ms = statistics.median(result.latencies[2 * index :: 4]) * 1000
        big_ms = statistics.median(result.latencies[2 * index + 1 :: 4]) * 1000
        lines += [
            f"{path} p50 with 10 events: {small_ms:.1f} ms; with {count:,} events: {big_ms:.1f} ms "
            f"({options.requests} requests each, alternating)",
            f"{path} ratio: {big_ms / small_ms:.2f}x (target <= 1.2x)",
        ]
    harness.report(f"billing pages' p50 with {count:,} events vs 10 (errors: {result.errors})", lines)
    if result.errors or problems:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
