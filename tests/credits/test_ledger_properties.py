"""Any sequence of purchases, usage, expiries, reversals and adjustments keeps the books."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.db.models import F, Sum
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from credits.models import (
    CreditAccount,
    CreditLot,
    EntryKind,
    LedgerEntry,
    LotKind,
    PurchaseStatus,
    UsageEvent,
)
from credits.money import cents_to_micros
from credits.selectors.usage import usage_rollup_violations
from credits.services import ledger
from credits.services.purchases import reverse_purchase
from credits.services.usage import record_usage_batch, validate_usage_batch
from tests.credits.scenarios import event
from tests.factories import OrganizationFactory, UserFactory, paid_purchase

pytestmark = pytest.mark.django_db


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each example runs in a savepoint rolled back at teardown, so examples never see
        # one another's rows (Hypothesis replays examples and needs them independent).
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.organization = OrganizationFactory()
        self.staff = UserFactory(is_staff=True)
        self.now = datetime(2026, 1, 31, 10, tzinfo=UTC)
        # What the balance must be, computed from what each operation reported.
        self.expected = 0
        self.purchases = []
        self.batches = 0

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @property
    def account(self):
        return CreditAccount.objects.get_or_create(organization=self.organization)[0]

    @rule(cents=st.integers(min_value=1_000, max_value=600_000))
    def buy(self, cents):
        purchase = paid_purchase(self.organization, cents, self.now)
        self.expected += cents_to_micros(purchase.amount_cents + purchase.bonus_cents)
        self.purchases.append(purchase.pk)

    @rule(cost=st.integers(min_value=1, max_value=200_000_000))
    def use(self, cost):
        ledger.debit_usage(organization=self.organization, cost_micros=cost, now=self.now)
        self.expected -= cost

    @rule(pages=st.lists(st.integers(min_value=0, max_value=20_000), min_size=1, max_size=6))
    def use_batch(self, pages):
        """A usage batch through the ingest service: one entry per lot and model."""
        self.batches += 1
        events = [
            event(f"m{self.batches}-{n}", self.organization, model="document-parse", pages=count, at=self.now)
            for n, count in enumerate(pages)
        ]
        batch = validate_usage_batch(payload={"events": events})
        record_usage_batch(events=batch, api_key=None, now=self.now)
        # $0.01 a page of Document Parse.
        self.expected -= sum(pages) * 10_000

    @rule(amount=st.integers(min_value=-50_000_000, max_value=50_000_000).filter(bool))
    def adjust(self, amount):
        ledger.adjust_credits(
            organization=self.organization,
            amount_micros=amount,
            reason="property test",
            created_by=self.staff,
            now=self.now,
        )
        self.expected += amount

    @rule(days=st.integers(min_value=1, max_value=40))
    def time_passes(self, days):
        self.now += timedelta(days=days)

    @rule()
    def expire(self):
        self.expected -= ledger.expire_bonus_lots(now=self.now)

    @precondition(lambda self: self.purchases)
    @rule(data=st.data())
    def reverse(self, data):
        purchase_id = data.draw(st.sampled_from(self.purchases))
        before = self.account.balance_micros
        purchase = reverse_purchase(purchase_id=purchase_id, now=self.now)
        # The credits are taken back; "Refunded" waits for Stripe (refunds.refund_approve).
        assert purchase.status == PurchaseStatus.REFUNDING
        self.expected -= before - self.account.balance_micros

    @invariant()
    def balance_is_the_sum_of_entries_and_of_lots(self):
        account = self.account
        entries = LedgerEntry.objects.filter(account=account).aggregate(s=Sum("amount_micros"))["s"]
        lots = CreditLot.objects.filter(account=account).aggregate(s=Sum("remaining_micros"))["s"]
        assert account.balance_micros == (entries or 0) == (lots or 0) == self.expected

    @invariant()
    def each_lot_is_the_sum_of_its_entries_and_only_overage_is_negative(self):
        lots = CreditLot.objects.filter(account__organization=self.organization).annotate(
            entry_sum=Sum("entries__amount_micros")
        )
        for lot in lots:
            assert lot.remaining_micros == lot.entry_sum
            if lot.kind == LotKind.OVERAGE:
                assert lot.remaining_micros <= 0
            else:
                assert 0 <= lot.remaining_micros <= lot.original_micros

    @invariant()
    def batch_entries_count_every_charged_call_and_rollups_equal_events(self):
        charged = UsageEvent.objects.filter(organization=self.organization, cost_micros__gt=0)
        batch_entries = LedgerEntry.objects.filter(
            account__organization=self.organization, kind=EntryKind.USAGE, api_model__isnull=False
        )
        assert sum(batch_entries.values_list("calls", flat=True)) == charged.count()
        assert -(batch_entries.aggregate(s=Sum("amount_micros"))["s"] or 0) == (
            charged.aggregate(s=Sum("cost_micros"))["s"] or 0
        )
        assert usage_rollup_violations() == []

    @invariant()
    def expired_credits_are_never_spent(self):
        spent_after_expiry = LedgerEntry.objects.filter(
            account__organization=self.organization,
            kind__in=[EntryKind.USAGE, EntryKind.ADJUSTMENT, EntryKind.SETTLEMENT],
            amount_micros__lt=0,
            lot__expires_at__isnull=False,
            created_at__gte=F("lot__expires_at"),
        )
        assert not spent_after_expiry.exists()


def test_ledger_state_machine():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
