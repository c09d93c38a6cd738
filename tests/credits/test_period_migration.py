"""The data migration rebuilds a timeline from purchases and plan, whatever the old rows said."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from credits.models import CommitmentPeriod, CommitmentSchedule, Purchase
from credits.selectors.tiers import timeline_violations

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("credits", "0017_build_usage_rollups")]
AFTER = [("credits", "0020_period_timeline_constraints")]


def at(year, month, day):
    return datetime(year, month, day, 12, tzinfo=UTC)


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_rebuild_splits_nothing_and_overlaps_nothing():
    old = _migrate(BEFORE)
    try:
        Organization = old.get_model("accounts", "Organization")
        CreditAccount = old.get_model("credits", "CreditAccount")
        OldPeriod = old.get_model("credits", "CommitmentPeriod")
        OldPurchase = old.get_model("credits", "Purchase")
        AutoRecharge = old.get_model("credits", "AutoRecharge")
        organization = Organization.objects.create(name="Old Co", created_at=at(2025, 11, 1))
        # What the old code left: the plan save moved the anchor to Dec 1, so the month's
        # purchases split across two overlapping rows.
        account = CreditAccount.objects.create(
            organization=organization, anchor_date=date(2025, 12, 1), period_kind="monthly"
        )
        OldPeriod.objects.create(
            account=account,
            kind="monthly",
            starts_on=date(2025, 11, 15),
            ends_on=date(2025, 12, 15),
            tier_held_until=date(2026, 1, 15),
            purchased_cents=10_000,
            tier_earned="explore",
        )
        OldPeriod.objects.create(
            account=account,
            kind="monthly",
            starts_on=date(2025, 11, 1),
            ends_on=date(2025, 12, 1),
            tier_held_until=date(2026, 1, 1),
            purchased_cents=50_000,
            tier_earned="build",
        )
        AutoRecharge.objects.create(
            organization=organization,
            amount_cents=10_000,
            frequency="monthly",
            billing_date=date(2025, 12, 1),
            next_charge_on=date(2026, 1, 1),
            created_at=at(2025, 11, 20),
            updated_at=at(2025, 11, 20),
        )
        for key, cents, day, source in [
            ("a", 10_000, at(2025, 11, 15), "checkout"),
            ("b", 50_000, at(2025, 11, 25), "checkout"),
            ("c", 10_000, at(2025, 12, 1), "auto_recharge"),
            ("d", 2_000, at(2025, 12, 3), "overage"),
        ]:
            OldPurchase.objects.create(
                organization=organization,
                key=key,
                amount_cents=cents,
                status="succeeded",
                source=source,
                created_at=day,
                granted_at=day,
            )
    finally:
        _migrate(AFTER)
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    rows = list(CommitmentPeriod.objects.order_by("starts_on"))
    assert [(p.starts_on, p.ends_on, p.purchased_cents, p.tier_earned) for p in rows[:3]] == [
        (date(2025, 11, 15), date(2025, 12, 1), 60_000, "build"),
        (date(2025, 12, 1), date(2026, 1, 1), 10_000, "explore"),
        (date(2026, 1, 1), date(2026, 2, 1), 0, "none"),
    ]
    assert list(
        CommitmentSchedule.objects.order_by("effective_from").values_list("source", "effective_from")
    ) == [
        ("first_purchase", date(2025, 11, 15)),
        ("plan", date(2025, 12, 1)),
    ]
    assert Purchase.objects.get(key="d").period is None
    assert timeline_violations() == []
