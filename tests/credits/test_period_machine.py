"""Any sequence of days passing, purchases, plan changes, scheduled and top-up charges, refunds
and overage keeps the commitment-period timeline and its promises (SPEC: Commitment periods)."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from credits.exceptions import CreditsError
from credits.models import (
    TIER_RANK,
    AutoRecharge,
    CommitmentPeriod,
    CreditAccount,
    CreditLot,
    LotKind,
    Purchase,
    PurchaseSource,
    PurchaseStatus,
    RechargeStatus,
    Tier,
)
from credits.selectors.credit import credit_summary
from credits.selectors.ledger import ledger_invariant_violations
from credits.selectors.periods import period_on
from credits.selectors.tiers import current_tier, higher_tier, tier_for_amount
from credits.services import ledger, overage, recharge_jobs
from credits.services.purchases import preview_purchase, reverse_purchase
from credits.services.recharge import (
    RechargeSettings,
    preview_recharge,
    recharge_save,
    recharge_terminate,
)
from tests import fake_stripe
from tests.factories import OrganizationFactory, paid_purchase

pytestmark = pytest.mark.django_db

START = datetime(2027, 12, 20, 10, tzinfo=UTC)


class PeriodMachine(RuleBasedStateMachine):
    bank: fake_stripe.ScriptedStripe

    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.organization = OrganizationFactory()
        fake_stripe.default_card(self.organization)
        self.now = START
        # (tier, held until) as the credit page showed them; dropped by a refund.
        self.holds: list[tuple[str, date]] = []
        # The first charge of the plan as its preview showed it: (day, bonus expiry).
        self.charge_promise: tuple[date, datetime | None] | None = None

    def teardown(self):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @property
    def account(self):
        return CreditAccount.objects.get_or_create(organization=self.organization)[0]

    @property
    def today(self) -> date:
        return self.now.date()

    def _plan(self):
        return AutoRecharge.objects.filter(organization=self.organization).first()

    @rule(days=st.integers(min_value=1, max_value=400))
    def days_pass(self, days):
        self.now += timedelta(days=days)

    @rule(hours=st.integers(min_value=1, max_value=30))
    def hours_pass(self, hours):
        self.now += timedelta(hours=hours)

    @rule(cents=st.sampled_from([1_000, 9_999, 10_000, 25_000, 50_000, 120_000, 500_000, 600_000]))
    def buy(self, cents):
        shown = preview_purchase(organization=self.organization, amount_cents=cents, now=self.now)
        purchase = paid_purchase(self.organization, cents, self.now)
        bonus = CreditLot.objects.filter(purchase=purchase, kind=LotKind.BONUS).first()
        if shown.bonus_expires_at is not None:
            assert bonus is not None and bonus.expires_at >= shown.bonus_expires_at
        assert purchase.period.starts_on <= self.today < purchase.period.ends_on

    @rule(
        amount=st.sampled_from([1_000, 10_000, 50_000, 120_000]),
        frequency=st.sampled_from(["monthly", "yearly"]),
        offset=st.integers(min_value=0, max_value=45),
        threshold=st.booleans(),
    )
    def save_plan(self, amount, frequency, offset, threshold):
        plan = self._plan()
        live = plan is not None and plan.status != RechargeStatus.TERMINATED
        # Keeping the date half the time makes amount-only and frequency-only edits.
        billing = plan.billing_date if live and offset % 2 else self.today + timedelta(days=offset)
        preview = preview_recharge(
            organization=self.organization,
            amount_cents=amount,
            frequency=frequency,
            billing_date=billing,
            now=self.now,
        )
        try:
            plan = recharge_save(
                organization=self.organization,
                settings=RechargeSettings(
                    amount_cents=amount,
                    frequency=frequency,
                    billing_date=billing,
                    threshold_enabled=threshold,
                    threshold_micros=20_000_000 if threshold else 0,
                    max_threshold_recharges=2,
                    max_threshold_cents=amount * 2 if threshold else 0,
                ),
                user=None,
                now=self.now,
                refund_policy_accepted=True,
            )
        except CreditsError as error:
            assert error.code == "date_in_past"
            return
        if plan.next_charge_on >= self.today:
            assert plan.next_charge_on == preview.first_charge_on
        # The charge the job makes next is due on the day the preview named.
        self.charge_promise = (preview.first_charge_on, preview.purchase.bonus_expires_at)

    @precondition(lambda self: self._plan() is not None)
    @rule()
    def terminate(self):
        try:
            recharge_terminate(organization=self.organization, now=self.now)
        except CreditsError as error:
            assert error.code == "no_plan"
        self.charge_promise = None

    @rule(decline=st.booleans())
    def run_charges(self, decline):
        self.bank.otherwise = fake_stripe.DECLINED if decline else fake_stripe.SUCCEEDED
        recharge_jobs.run_recharges(now=self.now)
        promise = self.charge_promise
        if promise is None:
            return
        day, expiry = promise
        plan = self._plan()
        charge = plan.charges.filter(kind="scheduled", due_on=day).select_related("purchase").first()
        if charge is not None and charge.purchase.granted_at is not None and expiry is not None:
            lot = CreditLot.objects.get(purchase=charge.purchase, kind=LotKind.BONUS)
            assert lot.expires_at >= expiry

    @rule(cost=st.integers(min_value=1_000_000, max_value=2_000_000_000))
    def use(self, cost):
        ledger.debit_usage(organization=self.organization, cost_micros=cost, now=self.now)

    @rule()
    def settle_overage(self):
        overage.charge_due_overages(now=self.now)

    @rule()
    def expire(self):
        ledger.expire_bonus_lots(now=self.now)

    @precondition(
        lambda self: (
            Purchase.objects.filter(organization=self.organization, status=PurchaseStatus.SUCCEEDED)
            .exclude(source=PurchaseSource.OVERAGE)
            .exists()
        )
    )
    @rule(data=st.data())
    def refund(self, data):
        ids = list(
            Purchase.objects.filter(organization=self.organization, status=PurchaseStatus.SUCCEEDED)
            .exclude(source=PurchaseSource.OVERAGE)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        reverse_purchase(purchase_id=data.draw(st.sampled_from(ids)), now=self.now)
        # A refund takes back what the purchase earned; earlier promises no longer bind.
        self.holds.clear()

    @invariant()
    def the_books_and_the_timeline_check_out(self):
        assert ledger_invariant_violations() == []

    @invariant()
    def periods_are_contiguous_and_every_purchase_is_in_the_one_holding_its_day(self):
        rows = list(
            CommitmentPeriod.objects.filter(account__organization=self.organization).order_by("starts_on")
        )
        for before, after in pairwise(rows):
            assert before.ends_on == after.starts_on
        granted = Purchase.objects.filter(organization=self.organization, granted_at__isnull=False)
        for purchase in granted.exclude(source=PurchaseSource.OVERAGE):
            holding = [p for p in rows if p.starts_on <= purchase.granted_at.date() < p.ends_on]
            assert len(holding) == 1 and purchase.period_id == holding[0].pk
        if rows:
            # From the first purchase on, every day up to today is in a period.
            assert period_on(account=self.account, day=self.today) is not None

    @invariant()
    def the_tier_is_the_best_still_held_and_never_drops_before_its_hold_date(self):
        account = self.account
        tier = current_tier(account=account, today=self.today)
        best = Tier.NONE
        for period in CommitmentPeriod.objects.filter(account=account, starts_on__lte=self.today):
            total = sum(
                period.purchases.filter(status=PurchaseStatus.SUCCEEDED).values_list(
                    "amount_cents", flat=True
                )
            )
            earned = tier_for_amount(kind=period.kind, purchased_cents=total)
            if period.replaced_kind:
                earned = higher_tier(
                    earned, tier_for_amount(kind=period.replaced_kind, purchased_cents=total)
                )
            if self.today < period.tier_held_until:
                best = higher_tier(best, earned)
        assert tier == best
        for promised, until in self.holds:
            if self.today < until:
                assert TIER_RANK[Tier(tier)] >= TIER_RANK[Tier(promised)]

    @invariant()
    def the_credit_page_shows_this_periods_purchases_and_the_hold(self):
        summary = credit_summary(organization=self.organization, now=self.now)
        bounds = period_on(account=self.account, day=self.today)
        if bounds is None:
            assert summary.tier.purchased_cents == 0
            return
        bought = Purchase.objects.filter(
            organization=self.organization,
            status=PurchaseStatus.SUCCEEDED,
            granted_at__date__gte=bounds.starts_on,
            granted_at__date__lt=bounds.ends_on,
        ).exclude(source=PurchaseSource.OVERAGE)
        assert summary.tier.purchased_cents == sum(bought.values_list("amount_cents", flat=True))
        assert summary.tier.period == bounds
        if summary.tier.hold is not None:
            assert summary.tier.hold.held_until > self.today
            self.holds.append((summary.tier.hold.tier, summary.tier.hold.held_until))


def test_period_timeline_state_machine(monkeypatch):
    # Stripe scripted at credits/stripe_client.py: recharges and overage pay unless a run
    # of the job says decline.
    bank = fake_stripe.ScriptedStripe(monkeypatch)
    monkeypatch.setattr(PeriodMachine, "bank", bank, raising=False)
    run_state_machine_as_test(
        PeriodMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
