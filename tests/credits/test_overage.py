"""Overage: a negative balance is charged (rounded up to the cent) at period end or past the
threshold, exactly once; paid, it settles the debt as a purchase. Stripe is scripted at
stripe_client (tests/fake_stripe.py), or localstripe where marked."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail

from accounts.models import Role
from credits.exceptions import PaymentProviderUnavailable
from credits.models import (
    CreditAccount,
    CreditLot,
    EntryKind,
    LedgerEntry,
    LotKind,
    OverageCharge,
    OverageStatus,
    OverageTrigger,
    PurchaseSource,
    PurchaseStatus,
)
from credits.services import ledger, overage
from credits.services.overage import charge_due_overages, charge_overage
from tests import fake_stripe
from tests.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.django_db

JAN_1 = datetime(2026, 1, 1, 9, tzinfo=UTC)


@pytest.fixture
def card(monkeypatch, organization):
    """Stripe scripted at stripe_client, the organization's saved card behind it; remembers
    every charge it was asked for."""
    fake_stripe.default_card(organization)
    return fake_stripe.ScriptedStripe(monkeypatch)


@pytest.fixture
def organization(db):
    # Never bought anything: periods are anchored on the day it was created (Jan 1).
    membership = MembershipFactory(role=Role.OWNER, organization__created_at=JAN_1)
    return membership.organization


def spend(organization, micros: int, at: datetime):
    ledger.debit_usage(organization=organization, cost_micros=micros, now=at, reference=f"u{at}")


def balance(organization) -> int:
    return CreditAccount.objects.get(organization=organization).balance_micros


def test_nothing_to_charge_without_debt(card, organization):
    assert charge_overage(organization=organization, now=JAN_1 + timedelta(days=40)) is None
    assert card.charges == []


def test_small_debt_waits_for_the_period_end(card, organization):
    spend(organization, 5_000_000, JAN_1 + timedelta(days=3))

    assert charge_overage(organization=organization, now=JAN_1 + timedelta(days=20)) is None
    assert card.charges == []


def test_debt_past_the_threshold_is_charged_at_once_rounded_up(card, organization):
    # $100.000001 owed: past the default $100 threshold; charged as $100.01.
    spend(organization, 100_000_001, JAN_1 + timedelta(days=3))

    charge = charge_overage(organization=organization, now=JAN_1 + timedelta(days=3, hours=1))

    assert charge.trigger == OverageTrigger.THRESHOLD
    assert charge.status == OverageStatus.SUCCEEDED
    assert charge.amount_cents == 10_001
    assert card.calls("amount_cents", "idempotency_key") == [
        {"amount_cents": 10_001, "idempotency_key": charge.key}
    ]
    purchase = charge.purchase
    assert (purchase.source, purchase.status, purchase.key) == (
        PurchaseSource.OVERAGE,
        PurchaseStatus.SUCCEEDED,
        charge.key,
    )
    assert purchase.bonus_cents == 0
    assert purchase.stripe_payment_intent_id == "pi_fake1"
    # The paid lot settled the debt; the 0.9999 cent rounding surplus stays as credit.
    assert balance(organization) == 9_999
    assert CreditLot.objects.get(kind=LotKind.OVERAGE).remaining_micros == 0
    assert LedgerEntry.objects.filter(kind=EntryKind.SETTLEMENT).count() == 2


def test_a_charge_is_made_once_however_often_the_job_runs(card, organization):
    spend(organization, 150_000_000, JAN_1 + timedelta(days=3))
    now = JAN_1 + timedelta(days=4)

    charge_overage(organization=organization, now=now)
    charge_overage(organization=organization, now=now)
    charge_due_overages(now=now)

    assert len(card.charges) == 1
    assert OverageCharge.objects.count() == 1


def test_period_end_charges_the_debt_left_at_the_end(card, organization):
    spend(organization, 1_234_567, JAN_1 + timedelta(days=10))

    charge = charge_overage(organization=organization, now=datetime(2026, 2, 2, tzinfo=UTC))

    assert charge.trigger == OverageTrigger.PERIOD_END
    assert (charge.period_starts_on.isoformat(), charge.period_ends_on.isoformat()) == (
        "2026-01-01",
        "2026-02-01",
    )
    assert charge.amount_cents == 124
    assert balance(organization) == 5_433
    assert charge.key == f"overage-{organization.pk}-2026-01-01-period-end"


def test_period_end_is_charged_once_per_period(card, organization):
    spend(organization, 1_000_000, JAN_1 + timedelta(days=10))
    charge_overage(organization=organization, now=datetime(2026, 2, 2, tzinfo=UTC))
    # New debt in February waits for February's end.
    spend(organization, 2_000_000, datetime(2026, 2, 5, tzinfo=UTC))

    again = charge_overage(organization=organization, now=datetime(2026, 2, 6, tzinfo=UTC))
    at_end = charge_overage(organization=organization, now=datetime(2026, 3, 1, 1, tzinfo=UTC))

    assert again is None
    assert at_end.period_starts_on.isoformat() == "2026-02-01"
    assert [call["amount_cents"] for call in card.charges] == [100, 200]


def test_debt_that_began_in_the_new_period_is_not_due_yet(card, organization):
    spend(organization, 1_000_000, datetime(2026, 2, 1, 10, tzinfo=UTC))

    assert charge_overage(organization=organization, now=datetime(2026, 2, 2, tzinfo=UTC)) is None


def test_a_crash_mid_charge_is_retried_with_the_same_key(card, organization):
    spend(organization, 150_000_000, JAN_1 + timedelta(days=3))
    now = JAN_1 + timedelta(days=4)
    card.otherwise = fake_stripe.UNAVAILABLE

    with pytest.raises(PaymentProviderUnavailable):
        charge_overage(organization=organization, now=now)
    pending = OverageCharge.objects.get()
    assert pending.status == OverageStatus.PENDING
    assert pending.purchase.status == PurchaseStatus.PENDING
    card.otherwise = fake_stripe.SUCCEEDED
    charge = charge_overage(organization=organization, now=now + timedelta(hours=1))

    assert charge.pk == pending.pk
    assert [call["idempotency_key"] for call in card.charges] == [pending.key, pending.key]
    assert charge.status == OverageStatus.SUCCEEDED
    assert balance(organization) == 0


def test_a_declined_card_is_recorded_mailed_and_retried_a_day_later(
    card, organization, django_capture_on_commit_callbacks
):
    spend(organization, 150_000_000, JAN_1 + timedelta(days=3))
    now = JAN_1 + timedelta(days=4)
    card.otherwise = fake_stripe.DECLINED

    with django_capture_on_commit_callbacks(execute=True):
        failed = charge_overage(organization=organization, now=now)

    assert failed.status == OverageStatus.FAILED
    assert failed.failure_code == "card_declined"
    assert failed.purchase.status == PurchaseStatus.FAILED
    assert balance(organization) == -150_000_000
    assert len(mail.outbox) == 1
    assert "$150.00" in mail.outbox[0].body
    assert mail.outbox[0].to == [organization.memberships.get().user.email]
    # Not again within the day...
    assert charge_overage(organization=organization, now=now + timedelta(hours=2)) is None
    # ...then with a new key, since Stripe would replay the old key's decline.
    card.otherwise = fake_stripe.SUCCEEDED
    retried = charge_overage(organization=organization, now=now + timedelta(days=1, hours=1))
    assert retried.status == OverageStatus.SUCCEEDED
    assert retried.key != failed.key
    assert balance(organization) == 0


def test_the_job_charges_only_organizations_in_debt(card, organization):
    solvent = OrganizationFactory(created_at=JAN_1)
    ledger.adjust_credits(
        organization=solvent, amount_micros=1_000, reason="gift", created_by=None, now=JAN_1
    )
    spend(organization, 200_000_000, JAN_1 + timedelta(days=1))

    charges = charge_due_overages(now=JAN_1 + timedelta(days=2))

    assert [charge.organization for charge in charges] == [organization]
    assert len(card.charges) == 1


def test_paying_a_debt_is_not_a_commitment_purchase(card, organization):
    spend(organization, 150_000_000, JAN_1 + timedelta(days=3))

    charge_overage(organization=organization, now=JAN_1 + timedelta(days=4))

    account = CreditAccount.objects.get(organization=organization)
    assert not account.schedules.exists()
    assert not account.periods.exists()
    assert not CreditLot.objects.filter(kind=LotKind.BONUS).exists()


def test_overage_is_charged_to_the_saved_card_at_localstripe(organization, stripe_server):
    from tests import localstripe
    from tests.factories import saved_card

    saved_card(organization, localstripe.VISA, stripe_server)
    spend(organization, 150_000_001, JAN_1 + timedelta(days=3))  # past the $100 threshold

    charge = charge_overage(organization=organization, now=JAN_1 + timedelta(days=3, hours=1))
    again = charge_overage(organization=organization, now=JAN_1 + timedelta(days=3, hours=2))

    [intent] = stripe_server.payment_intents()
    assert intent["amount"] == 15_001  # the debt rounded up to the cent
    assert charge.status == "succeeded" and again is None
    assert balance(organization) == 9_999  # 0.01 paid beyond the debt stays as credit


def test_overage_with_a_declining_card_is_recorded_failed(organization, stripe_server):
    from tests import localstripe
    from tests.factories import saved_card

    saved_card(organization, localstripe.CHARGE_DECLINED, stripe_server)
    spend(organization, 150_000_000, JAN_1 + timedelta(days=3))

    charge = charge_overage(organization=organization, now=JAN_1 + timedelta(days=3, hours=1))

    assert charge.status == "failed"
    assert "declined" in charge.failure_message.lower()
    assert balance(organization) == -150_000_000


def test_webhook_granting_first_after_a_crash_is_not_charged_again_and_buys_no_tier(card, organization):
    from credits.selectors.tiers import current_tier
    from credits.services import purchases

    spend(organization, 150_000_000, JAN_1 + timedelta(days=3))
    card.script = [SystemExit("worker died while Stripe charged")]
    with pytest.raises(SystemExit):
        charge_overage(organization=organization, now=JAN_1 + timedelta(days=3, hours=1))
    charge = OverageCharge.objects.get()
    # Stripe's payment_intent.succeeded webhook (it carries the purchase id) arrives.
    purchases.record_purchase(purchase_id=charge.purchase_id, now=JAN_1 + timedelta(days=3, hours=2))

    charge_overage(organization=organization, now=JAN_1 + timedelta(days=3, hours=3))

    charge.refresh_from_db()
    account = CreditAccount.objects.get(organization=organization)
    assert len(card.charges) == 1  # the one the worker died in
    assert charge.status == OverageStatus.SUCCEEDED
    assert account.balance_micros == 0
    assert not account.schedules.exists()
    assert current_tier(account=account, today=(JAN_1 + timedelta(days=3)).date()) == "none"


FEB_1 = datetime(2026, 2, 1, 9, tzinfo=UTC)


def test_a_declined_period_end_charge_is_retried_after_1_3_5_days_then_waits(card, organization):
    spend(organization, 20_000_000, JAN_1 + timedelta(days=10))  # $20: under the threshold
    card.otherwise = fake_stripe.DECLINED

    tried_on = []
    for day in range(0, 12):
        for hour in (0, 12):
            now = FEB_1 + timedelta(days=day, hours=hour)
            if charge_overage(organization=organization, now=now) is not None:
                tried_on.append(day)

    assert tried_on == [0, 1, 3, 5]
    charges = list(OverageCharge.objects.order_by("attempt"))
    assert [c.attempt for c in charges] == [1, 2, 3, 4]
    assert {c.trigger for c in charges} == {OverageTrigger.PERIOD_END}
    assert len({c.key for c in charges}) == 4  # Stripe would replay a key's decline
    assert balance(organization) == -20_000_000


def test_a_period_end_retry_that_succeeds_settles_the_debt_once(card, organization):
    spend(organization, 20_000_000, JAN_1 + timedelta(days=10))
    card.otherwise = fake_stripe.DECLINED
    charge_overage(organization=organization, now=FEB_1)
    card.otherwise = fake_stripe.SUCCEEDED

    paid = charge_overage(organization=organization, now=FEB_1 + timedelta(days=1))
    again = charge_due_overages(now=FEB_1 + timedelta(days=3))

    assert (paid.status, paid.attempt, again) == (OverageStatus.SUCCEEDED, 2, [])
    assert balance(organization) == 0
    assert len(card.charges) == 2


def test_a_debt_under_stripes_minimum_is_carried_forward(card, organization):
    spend(organization, 490_000, JAN_1 + timedelta(days=10))  # $0.49

    assert charge_due_overages(now=FEB_1) == []
    assert charge_due_overages(now=FEB_1 + timedelta(days=1)) == []
    assert card.charges == []
    assert not OverageCharge.objects.exists()
    assert balance(organization) == -490_000
    # More use in February: at its end the whole debt ($0.99) is charged.
    spend(organization, 500_000, FEB_1 + timedelta(days=3))
    [charge] = charge_due_overages(now=datetime(2026, 3, 1, 10, tzinfo=UTC))
    assert (charge.amount_cents, charge.status) == (99, OverageStatus.SUCCEEDED)
    assert balance(organization) == 0


def test_stripe_refusing_the_request_is_recorded_failed_not_raised(card, organization):
    from credits.exceptions import StripeRequestRejected

    spend(organization, 20_000_000, JAN_1 + timedelta(days=10))
    card.otherwise = StripeRequestRejected("Amount must be at least $0.50 usd")

    charge = charge_overage(organization=organization, now=FEB_1)

    assert charge.status == OverageStatus.FAILED
    assert charge.failure_code == "stripe_request_rejected"
    assert "at least" in charge.failure_message


def test_one_organizations_failure_does_not_stop_the_job_for_the_others(card):
    organizations = [
        MembershipFactory(role=Role.OWNER, organization__created_at=JAN_1).organization for _ in range(3)
    ]
    for organization in organizations:
        fake_stripe.default_card(organization)
        spend(organization, 20_000_000, JAN_1 + timedelta(days=10))
    # Organizations are charged in order; Stripe does not answer for the second one.
    card.script = [fake_stripe.SUCCEEDED, fake_stripe.UNAVAILABLE, fake_stripe.SUCCEEDED]

    with pytest.raises(overage.OverageJobIncomplete) as raised:
        charge_due_overages(now=FEB_1)

    assert [c["metadata"]["organization_id"] for c in card.charges] == [str(o.pk) for o in organizations]
    assert str(organizations[1].pk) in raised.value.message
    assert [balance(o) for o in organizations] == [0, -20_000_000, 0]
    assert OverageCharge.objects.get(organization=organizations[1]).status == OverageStatus.PENDING
    # The next run charges the one left pending, with its same key, and nobody twice.
    [retried] = charge_due_overages(now=FEB_1 + timedelta(minutes=5))
    assert retried.organization == organizations[1]
    assert balance(organizations[1]) == 0
    assert card.charges[3]["idempotency_key"] == card.charges[1]["idempotency_key"]


def test_a_processing_payment_is_asked_about_again_never_charged_again(card, organization):
    spend(organization, 150_000_000, JAN_1 + timedelta(days=3))
    now = JAN_1 + timedelta(days=4)
    card.script = [fake_stripe.PROCESSING]

    with pytest.raises(PaymentProviderUnavailable):
        charge_overage(organization=organization, now=now)
    charge = OverageCharge.objects.get()
    assert (charge.status, charge.purchase.stripe_payment_intent_id) == (OverageStatus.PENDING, "pi_fake1")

    card.now_says("pi_fake1", fake_stripe.SUCCEEDED)
    paid = charge_overage(organization=organization, now=now + timedelta(minutes=10))

    assert paid.status == OverageStatus.SUCCEEDED
    assert len(card.charges) == 1
    assert balance(organization) == 0


def test_a_refused_look_up_of_a_paid_intent_leaves_the_charge_pending(card, organization, monkeypatch):
    """A known intent means the card was (or may have been) charged: Stripe refusing to look
    it up (a rotated key) must not mark the charge failed and open a new one to charge."""
    from credits import stripe_client
    from credits.exceptions import StripeRequestRejected

    spend(organization, 150_000_000, JAN_1 + timedelta(days=3))
    now = JAN_1 + timedelta(days=4)
    card.script = [fake_stripe.PROCESSING]
    with pytest.raises(PaymentProviderUnavailable):
        charge_overage(organization=organization, now=now)

    def refuse(**kwargs):
        raise StripeRequestRejected("Invalid API Key provided")

    monkeypatch.setattr(stripe_client, "payment_intent_retrieve", refuse)
    with pytest.raises(PaymentProviderUnavailable, match="Invalid API Key"):
        charge_overage(organization=organization, now=now + timedelta(hours=1))

    charge = OverageCharge.objects.get()
    assert (charge.status, charge.purchase.status) == (OverageStatus.PENDING, PurchaseStatus.PENDING)
    assert len(card.charges) == 1


def test_killed_between_stripes_answer_and_the_grant_grants_once(card, organization, monkeypatch):
    from credits.services import purchases

    spend(organization, 150_000_000, JAN_1 + timedelta(days=3))
    now = JAN_1 + timedelta(days=4)
    real_grant = purchases.record_purchase

    def die(**kwargs):
        raise SystemExit("killed after Stripe's answer was stored")

    monkeypatch.setattr(purchases, "record_purchase", die)
    with pytest.raises(SystemExit):
        charge_overage(organization=organization, now=now)
    monkeypatch.setattr(purchases, "record_purchase", real_grant)
    assert OverageCharge.objects.get().purchase.stripe_payment_intent_id == "pi_fake1"

    paid = charge_overage(organization=organization, now=now + timedelta(minutes=1))

    assert paid.status == OverageStatus.SUCCEEDED
    assert len(card.charges) == 1  # asked about pi_fake1, not charged again
    assert balance(organization) == 0
