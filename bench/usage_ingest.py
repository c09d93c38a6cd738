"""Batched usage ingest through gunicorn on PostgreSQL: events/s against pgbench's one-hot-row
update rate, measured in the same run.

Batches of 1,000 events (four models, ten organizations that start with $5 of credit and run
into overage), posted by 4 client processes to /api/v1/usage/; then pgbench with 4 clients
updating one row. Target: ingest events/s at least 3x pgbench tps. Ends by checking the books
(ledger invariants and rollups against events) of everything it wrote.

    .venv/bin/python bench/usage_ingest.py        # or: make bench-ingest
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/billing_usage_bench (default; recreated)
"""

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

MIX = [
    ("solar-pro-2", {"input_tokens": 1_200, "output_tokens": 300}),
    ("solar-mini", {"input_tokens": 800, "output_tokens": 200}),
    ("document-parse", {"pages": 3}),
    ("information-extract", {"pages": 1}),
]
BATCH = 1_000
BODIES: list[list[bytes]] = []
HEADERS: dict[str, str] = {}


def _batch(tag: str, organization_ids: list[int], start: datetime) -> bytes:
    events = []
    for n in range(BATCH):
        model, units = MIX[n % len(MIX)]
        events.append(
            {
                "event_id": f"{tag}-{n}",
                "organization": organization_ids[n % len(organization_ids)],
                "model": model,
                "occurred_at": (start + timedelta(milliseconds=n)).isoformat(),
                **units,
            }
        )
    return harness.json_body({"events": events})


def post_batch(client: int, n: int):
    return "POST", "/api/v1/usage/", BODIES[client][n], HEADERS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--organizations", type=int, default=10)
    parser.add_argument("--batches", type=int, default=100, help="per client, at most (400 batches: 12-25 s)")
    parser.add_argument("--seconds", type=float, default=30)
    options = parser.parse_args()
    url, organizations, headers = harness.funded_organizations(
        count=options.organizations, credit_micros=5_000_000
    )
    HEADERS.update(headers)
    from credits.models import UsageEvent

    now = datetime.now(UTC)
    ids = [o.pk for o in organizations]
    start = now - timedelta(hours=1)
    BODIES.extend(
        [_batch(f"c{c}-b{b}", ids, start) for b in range(options.batches)] for c in range(options.clients)
    )
    warm = _batch("warm", ids, start)

    with harness.Server(url) as server:
        for _ in range(2):  # each worker's imports, connection and caches; the second is all replays
            harness.request(server.port, "POST", "/api/v1/usage/", warm, HEADERS)
        result = harness.load(
            server.port,
            post_batch,
            clients=options.clients,
            seconds=options.seconds,
            ok=(201,),
            limit=options.batches,
        )
    tps = harness.pgbench_hot_row_tps(url, clients=options.clients, seconds=10)
    events = result.requests * BATCH
    events_per_second = events / result.seconds
    problems = harness.books_problems()
    stored = UsageEvent.objects.count()
    harness.report(
        "Batched ingest (1,000 events a batch) vs pgbench one-hot-row updates",
        [
            f"ingest: {result.requests} batches, {events:,} events in {result.seconds:.1f} s by "
            f"{options.clients} clients over {options.organizations} organizations; errors: {result.errors}",
            f"ingest: {events_per_second:,.0f} events/s (batch p50 {result.p50_ms:.0f} ms)",
            f"pgbench one-hot-row update, {options.clients} clients: {tps:,.0f} tps",
            f"ratio: {events_per_second / tps:.1f}x (target >= 3x)",
            f"books: {stored:,} events stored; "
            + (
                "ledger and rollups consistent"
                if not problems
                else f"{len(problems)} problems: {problems[:3]}"
            ),
        ],
    )
    if result.errors or problems or stored != events + BATCH:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
