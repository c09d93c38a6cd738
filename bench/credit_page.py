"""Billing > Credit through gunicorn on PostgreSQL, against a bare logged-in view on the same
server, measured in the same run.

One organization with a purchase's paid and bonus lots, a grant and a month of usage
(6,000 events); 4 client processes load /billing/credit/ and /bench/bare/ (a view that loads
only the session and the user) with the same session, in alternating turns (bare, page, bare,
..., bare); the ratio is the median over the turns of the page against the bare view just
before and after it. Target: at least 0.5x.

    .venv/bin/python bench/credit_page.py         # or: make bench-credit
"""

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

COOKIE: dict[str, str] = {}


def credit(client: int, n: int):
    return "GET", "/billing/credit/", None, COOKIE


def bare(client: int, n: int):
    return "GET", "/bench/bare/", None, COOKIE


def seed(now: datetime):
    """An organization as a paying customer has it, built through the real services."""
    from accounts.models import Organization
    from credits.models import Purchase
    from credits.services import ledger, purchases
    from credits.services.usage import record_usage_batch, validate_usage_batch

    organization = Organization.objects.create(name="Bench credit", created_at=now - timedelta(days=40))
    purchase = purchases.purchase_create(
        organization=organization,
        amount_cents=60_000,
        key="bench-credit-1",
        created_by=None,
        refund_policy_version="bench",
        refund_policy_accepted_at=now,
        now=now - timedelta(days=3),
    )
    purchases.record_purchase(purchase_id=purchase.pk, now=now - timedelta(days=3))
    ledger.adjust_credits(
        organization=organization,
        amount_micros=20_000_000,
        reason="bench grant",
        created_by=None,
        now=now,
        expires_at=now + timedelta(days=90),
    )
    for day in range(30):
        at = now - timedelta(days=day)
        events = [
            {
                "event_id": f"credit-{day}-{n}",
                "organization": organization.pk,
                "model": "solar-pro-2",
                "occurred_at": at.isoformat(),
                "input_tokens": 20_000,
                "output_tokens": 2_000,
            }
            for n in range(200)
        ]
        record_usage_batch(events=validate_usage_batch(payload={"events": events}), api_key=None, now=at)
    assert Purchase.objects.filter(organization=organization).exists()
    return organization


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5, help="of each turn")
    options = parser.parse_args()
    url = harness.database_url()
    harness.fresh_database(url)
    harness.setup_django(url)
    now = datetime.now(UTC)
    organization = seed(now)
    COOKIE["Cookie"] = harness.logged_in_cookie(organization)

    with harness.Server(url) as server:
        status, body = harness.request(server.port, "GET", "/billing/credit/", headers=COOKIE)
        if status != 200 or b"balance lasts" not in body:
            raise SystemExit(f"/billing/credit/ answered {status} without a forecast")
        harness.load(server.port, credit, clients=options.clients, seconds=2)
        harness.load(server.port, bare, clients=options.clients, seconds=2)
        result = harness.interleaved(
            server.port, page=credit, bare=bare, clients=options.clients, turns=options.turns,
            seconds=options.seconds,
        )
    harness.report(
        f"/billing/credit/ vs a bare logged-in view, {options.clients} clients",
        result.lines(page_name="/billing/credit/", target=">= 0.5x"),
    )
    if result.errors:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
