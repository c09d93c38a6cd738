"""The recharge job with Stripe scripted at credits/stripe_client.py (tests/fake_stripe.py)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail

from accounts.models import Role
from credits import stripe_client
from credits.exceptions import PaymentProviderUnavailable
from credits.models import (
    ChargeStatus,
    CreditAccount,
    Purchase,
    PurchaseStatus,
    RechargeCharge,
    RechargeStatus,
)
from credits.services import ledger, recharge_jobs
from credits.services.recharge import RechargeSettings, recharge_save
from tests import fake_stripe
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 1, 31, 8, tzinfo=UTC)


@pytest.fixture
def stripe(monkeypatch):
    return fake_stripe.ScriptedStripe(monkeypatch)


@pytest.fixture
def organization():
    owner = MembershipFactory(role=Role.OWNER, user__email="owner@corp.example")
    MembershipFactory(organization=owner.organization, role=Role.BILLING, user__email="pay@corp.example")
    fake_stripe.default_card(owner.organization)
    return owner.organization


def _plan(organization, *, amount_cents=10_000, billing_date=date(2026, 1, 31), **extra):
    return recharge_save(
        organization=organization,
        settings=RechargeSettings(
            amount_cents=amount_cents, frequency="monthly", billing_date=billing_date, **extra
        ),
        user=None,
        now=START,
        refund_policy_accepted=True,
    )


def _balance(organization):
    return CreditAccount.objects.get(organization=organization).balance_micros


def test_monthly_on_the_31st_charges_once_per_month_through_february(organization, stripe):
    _plan(organization)
    charged_days = []
    day = START
    while day < datetime(2026, 5, 2, tzinfo=UTC):
        before = len(stripe.charges)
        recharge_jobs.run_recharges(now=day)
        recharge_jobs.run_recharges(now=day)  # a second run the same day changes nothing
        if len(stripe.charges) > before:
            charged_days.append(day.date())
        day += timedelta(days=1)

    assert charged_days == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert Purchase.objects.filter(status=PurchaseStatus.SUCCEEDED).count() == 4
    # $100 + $3 bonus each; this test runs no expiry job, so every bonus lot is still there.
    assert _balance(organization) == 4 * 103_000_000


def test_a_missed_month_is_charged_once_not_for_every_missed_day(organization, stripe):
    _plan(organization)

    recharge_jobs.run_recharges(now=datetime(2026, 4, 5, tzinfo=UTC))

    assert len(stripe.charges) == 1
    assert RechargeCharge.objects.get().due_on == date(2026, 3, 31)


def test_declines_retry_after_1_3_5_days_then_pause(organization, stripe, django_capture_on_commit_callbacks):
    _plan(organization)
    stripe.script = [fake_stripe.DECLINED] * 4

    attempt_offsets = []
    with django_capture_on_commit_callbacks(execute=True):
        for offset in range(10):
            before = len(stripe.charges)
            recharge_jobs.run_recharges(now=START + timedelta(days=offset, minutes=5))
            if len(stripe.charges) > before:
                attempt_offsets.append(offset)

    charge = RechargeCharge.objects.get()
    assert attempt_offsets == [0, 1, 3, 5]
    assert charge.attempts == 4
    assert (charge.status, charge.plan.status) == (ChargeStatus.GAVE_UP, RechargeStatus.PAUSED)
    assert "paused" in charge.plan.last_result
    assert _balance(organization) == 0
    assert Purchase.objects.get().status == PurchaseStatus.FAILED
    assert len(mail.outbox) == 4
    assert sorted(mail.outbox[0].to) == ["owner@corp.example", "pay@corp.example"]


def test_a_retry_that_succeeds_grants_once(organization, stripe):
    _plan(organization)
    stripe.script = [fake_stripe.DECLINED, fake_stripe.SUCCEEDED]

    recharge_jobs.run_recharges(now=START)
    recharge_jobs.run_recharges(now=START + timedelta(hours=12))  # not due yet
    recharge_jobs.run_recharges(now=START + timedelta(days=1))

    assert len(stripe.charges) == 2
    assert _balance(organization) == 103_000_000
    assert RechargeCharge.objects.get().status == ChargeStatus.SUCCEEDED


def test_authentication_required_is_shown_and_granted_once_the_customer_authenticates(organization, stripe):
    _plan(organization)
    stripe.script = [fake_stripe.REQUIRES_ACTION]

    recharge_jobs.run_recharges(now=START)
    charge = RechargeCharge.objects.get()
    assert charge.status == ChargeStatus.REQUIRES_ACTION
    assert Purchase.objects.get().status == PurchaseStatus.REQUIRES_ACTION
    assert _balance(organization) == 0

    stripe.now_says("pi_fake1", fake_stripe.SUCCEEDED)  # the customer authenticated in the page
    recharge_jobs.run_recharges(now=START + timedelta(days=1))

    assert len(stripe.charges) == 1
    assert _balance(organization) == 103_000_000


def test_terminated_plans_are_not_charged(organization, stripe):
    from credits.services.recharge import recharge_terminate

    _plan(organization)
    recharge_terminate(organization=organization, now=START)

    recharge_jobs.run_recharges(now=START + timedelta(days=40))

    assert stripe.charges == []


def test_threshold_top_ups_respect_the_caps_while_usage_keeps_draining(organization, stripe):
    _plan(
        organization,
        billing_date=date(2026, 2, 15),
        threshold_enabled=True,
        threshold_micros=20_000_000,
        max_threshold_recharges=3,
        max_threshold_cents=25_000,
    )
    now = START
    for _step in range(30):
        ledger.debit_usage(organization=organization, cost_micros=150_000_000, now=now)
        recharge_jobs.run_recharges(now=now)
        now += timedelta(minutes=10)

    # The money cap ($250) allows two $100 top-ups even though the count cap is three.
    assert len(stripe.charges) == 2
    assert RechargeCharge.objects.filter(kind="threshold").count() == 2


def test_stripe_unreachable_retries_soon_with_the_same_idempotency_key(organization, stripe):
    _plan(organization)
    stripe.script = [fake_stripe.UNAVAILABLE, fake_stripe.SUCCEEDED]

    recharge_jobs.run_recharges(now=START)
    charge = RechargeCharge.objects.get()
    assert (charge.status, charge.attempts) == (ChargeStatus.UNREACHABLE, 0)
    recharge_jobs.run_recharges(now=START + timedelta(minutes=5))  # not yet
    recharge_jobs.run_recharges(now=START + timedelta(minutes=11))

    assert [c["idempotency_key"] for c in stripe.charges] == [
        stripe.charges[0]["idempotency_key"]
    ] * 2
    assert _balance(organization) == 103_000_000


def test_a_processing_payment_is_looked_up_again_not_charged_again(organization, stripe):
    _plan(organization)
    stripe.script = [fake_stripe.PROCESSING]

    recharge_jobs.run_recharges(now=START)
    assert _balance(organization) == 0
    stripe.now_says("pi_fake1", fake_stripe.SUCCEEDED)
    recharge_jobs.run_recharges(now=START + timedelta(minutes=11))

    assert len(stripe.charges) == 1
    assert _balance(organization) == 103_000_000


def test_an_outage_leaves_a_visible_charge_retried_with_backoff_mailed_and_paid_once(
    organization, stripe, client, django_capture_on_commit_callbacks
):
    _plan(organization)
    stripe.script = [fake_stripe.UNAVAILABLE] * 4 + [fake_stripe.SUCCEEDED]
    runs = [START, START + timedelta(minutes=10), START + timedelta(minutes=40)]
    with django_capture_on_commit_callbacks(execute=True):
        for now in runs:
            recharge_jobs.run_recharges(now=now)
            # Every run in between (the job runs every minute) charges nothing more.
            recharge_jobs.run_recharges(now=now + timedelta(minutes=1))

    charge = RechargeCharge.objects.get()
    assert (charge.status, charge.provider_failures, charge.attempts) == (ChargeStatus.UNREACHABLE, 3, 0)
    # Backoff: 10 minutes, then 30, then an hour.
    assert charge.next_attempt_at == runs[2] + timedelta(hours=1)
    assert len(stripe.charges) == 3
    plan = charge.plan
    assert plan.status == RechargeStatus.ACTIVE
    assert "could not reach our payment provider" in plan.last_result
    # The owners (and billing members) hear of it once, after the third failure.
    assert len(mail.outbox) == 1
    assert set(mail.outbox[0].to) == {"owner@corp.example", "pay@corp.example"}
    assert "delayed" in mail.outbox[0].subject
    # The credit page shows it.
    client.force_login(organization.memberships.get(role=Role.OWNER).user)
    page = client.get("/billing/credit/").content.decode()
    assert f"recharge-attention-{charge.pk}" in page
    assert "could not reach our payment provider" in page

    with django_capture_on_commit_callbacks(execute=True):
        recharge_jobs.run_recharges(now=runs[2] + timedelta(hours=1))  # 4th: still down
        recharge_jobs.run_recharges(now=runs[2] + timedelta(hours=1, minutes=30))  # waits 3h
        recharge_jobs.run_recharges(now=runs[2] + timedelta(hours=4))  # paid
    # No second "delayed" mail (the payment then has its receipt).
    assert [m.subject for m in mail.outbox].count("Your auto-recharge payment is delayed") == 1
    assert len({c["idempotency_key"] for c in stripe.charges}) == 1
    assert len(stripe.charges) == 5
    charge.refresh_from_db()
    assert (charge.status, charge.provider_failures) == (ChargeStatus.SUCCEEDED, 0)
    assert _balance(organization) == 103_000_000
    assert "recharge-attention" not in client.get("/billing/credit/").content.decode()


def test_an_outage_paid_by_stripe_and_granted_by_the_webhook_is_not_charged_again(organization, stripe):
    from credits.services.purchases import record_purchase

    _plan(organization)
    stripe.script = [fake_stripe.UNAVAILABLE]
    recharge_jobs.run_recharges(now=START)
    charge = RechargeCharge.objects.get()
    # Stripe had charged after all; its payment_intent.succeeded webhook grants it.
    record_purchase(
        purchase_id=charge.purchase_id, now=START + timedelta(minutes=2), payment_intent_id="pi_hidden"
    )

    recharge_jobs.run_recharges(now=START + timedelta(minutes=11))

    assert len(stripe.charges) == 1
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.SUCCEEDED
    assert _balance(organization) == 103_000_000


def test_one_charge_that_raises_does_not_stop_the_charges_of_other_organizations(stripe):
    organizations = [MembershipFactory(role=Role.OWNER).organization for _ in range(3)]
    for organization in organizations:
        fake_stripe.default_card(organization)
        _plan(organization)
    # Charges go out in plan order; the second one meets something unexpected (a bug).
    stripe.script = [fake_stripe.SUCCEEDED, RuntimeError("a bug in one organization's data")]

    assert recharge_jobs.process_due_charges(now=START) == 0  # nothing scheduled yet
    assert recharge_jobs.run_recharges(now=START)["paid"] == 2

    assert [_balance(o) for o in organizations] == [103_000_000, 0, 103_000_000]
    stuck = RechargeCharge.objects.get(plan__organization=organizations[1])
    assert stuck.status == ChargeStatus.PENDING
    assert stuck.next_attempt_at == START + recharge_jobs.SET_ASIDE_AFTER_ERROR
    assert "RuntimeError" in stuck.last_error


def test_a_charge_retried_days_late_is_tried_once_per_run_not_until_it_gives_up(organization, stripe):
    """The retry schedule counts from the day the charge was due; a run long after it (the
    job down for a week) tries the card once, and the next retry is at least a day later."""
    _plan(organization)
    stripe.otherwise = fake_stripe.DECLINED
    recharge_jobs.run_recharges(now=START)

    late = START + timedelta(days=10)
    recharge_jobs.run_recharges(now=late)

    charge = RechargeCharge.objects.get()
    assert len(stripe.charges) == 2
    assert (charge.status, charge.attempts) == (ChargeStatus.FAILED, 2)
    assert charge.next_attempt_at == late + timedelta(days=1)
    assert charge.plan.status == RechargeStatus.ACTIVE


def test_a_plan_started_again_on_a_day_it_was_charged_for_keeps_that_charge(organization, stripe):
    """Terminated and saved again the same billing day with another amount: that day's charge
    was made, so nothing more is charged for it (the new amount applies from the next charge
    day), and the job goes on to the other organizations' plans (the conflicting purchase
    key used to raise on every run, before any other plan was scheduled)."""
    from credits.services.recharge import recharge_terminate

    _plan(organization)
    recharge_jobs.run_recharges(now=START)
    recharge_terminate(organization=organization, now=START + timedelta(hours=1))
    _plan(organization, amount_cents=20_000)
    other = MembershipFactory(role=Role.OWNER).organization
    fake_stripe.default_card(other)
    _plan(other)

    # Only the other organization's charge is new.
    assert recharge_jobs.run_recharges(now=START + timedelta(hours=2))["scheduled"] == 1
    assert _balance(other) == 103_000_000
    recharge_jobs.run_recharges(now=datetime(2026, 2, 28, 8, tzinfo=UTC))

    assert [c["amount_cents"] for c in stripe.charges] == [10_000, 10_000, 20_000, 10_000]
    assert _balance(organization) == 103_000_000 + 206_000_000


def test_one_plan_that_raises_while_scheduled_does_not_stop_the_others(organization, stripe, monkeypatch):
    other = MembershipFactory(role=Role.OWNER).organization
    fake_stripe.default_card(other)
    broken, working = _plan(organization), _plan(other)
    made = recharge_jobs.purchase_create

    def fail_for_the_first(**fields):
        if fields["organization"].pk == organization.pk:
            raise RuntimeError("a bug in one organization's data")
        return made(**fields)

    monkeypatch.setattr(recharge_jobs, "purchase_create", fail_for_the_first)

    assert recharge_jobs.run_recharges(now=START) == {"scheduled": 1, "threshold": 0, "paid": 1}
    assert _balance(other) == 103_000_000
    broken.refresh_from_db()
    working.refresh_from_db()
    assert broken.next_charge_on == date(2026, 1, 31)  # tried again on the next run
    assert working.next_charge_on == date(2026, 2, 28)


def test_a_payment_processing_after_authentication_is_not_charged_again(organization, stripe):
    _plan(organization)
    stripe.script = [fake_stripe.REQUIRES_ACTION]
    recharge_jobs.run_recharges(now=START)

    stripe.now_says("pi_fake1", fake_stripe.PROCESSING)  # authenticated; the bank is processing
    recharge_jobs.run_recharges(now=START + timedelta(days=1))
    stripe.now_says("pi_fake1", fake_stripe.SUCCEEDED)
    recharge_jobs.run_recharges(now=START + timedelta(days=1, minutes=10))

    assert len(stripe.charges) == 1
    assert stripe.cancelled == []
    assert _balance(organization) == 103_000_000
    assert RechargeCharge.objects.get().status == ChargeStatus.SUCCEEDED


def test_a_retry_cancels_the_intent_still_waiting_for_authentication(organization, stripe):
    """The customer did not authenticate before the retry: the retry cancels that intent
    before charging anew, so a page left open on it can no longer pay it too."""
    _plan(organization)
    stripe.script = [fake_stripe.REQUIRES_ACTION, fake_stripe.SUCCEEDED]
    recharge_jobs.run_recharges(now=START)

    recharge_jobs.run_recharges(now=START + timedelta(days=1))

    assert stripe.cancelled == ["pi_fake1"]
    assert [intent.status for intent in stripe.intents.values()] == ["canceled", "succeeded"]
    assert _balance(organization) == 103_000_000


def test_an_intent_paid_just_before_the_retry_cancels_it_is_taken_not_charged_again(
    organization, stripe, monkeypatch
):
    _plan(organization)
    stripe.script = [fake_stripe.REQUIRES_ACTION]
    recharge_jobs.run_recharges(now=START)
    looked_up = stripe.retrieve

    def authenticated_meanwhile(*, payment_intent_id):
        intent = looked_up(payment_intent_id=payment_intent_id)
        stripe.now_says(payment_intent_id, fake_stripe.SUCCEEDED)  # between the look-up and the cancel
        return intent

    monkeypatch.setattr(stripe_client, "payment_intent_retrieve", authenticated_meanwhile)
    recharge_jobs.run_recharges(now=START + timedelta(days=1))

    assert len(stripe.charges) == 1
    assert stripe.cancelled == []
    assert _balance(organization) == 103_000_000


def test_a_paid_charge_whose_grant_failed_is_granted_after_the_plan_is_terminated(
    organization, stripe, monkeypatch
):
    from credits.services.recharge import recharge_terminate

    _plan(organization)
    record = recharge_jobs.record_purchase
    calls = []

    def crash_the_first_time(**fields):
        calls.append(fields)
        if len(calls) == 1:
            raise RuntimeError("the worker died after Stripe charged")
        return record(**fields)

    monkeypatch.setattr(recharge_jobs, "record_purchase", crash_the_first_time)
    recharge_jobs.run_recharges(now=START)
    plan = recharge_terminate(organization=organization, now=START + timedelta(minutes=5))

    recharge_jobs.run_recharges(now=START + timedelta(hours=2))

    assert len(stripe.charges) == 1
    assert _balance(organization) == 103_000_000
    assert RechargeCharge.objects.get().status == ChargeStatus.SUCCEEDED
    plan.refresh_from_db()
    assert plan.status == RechargeStatus.TERMINATED


def test_a_terminated_plans_pending_charge_that_failed_waits_quietly(organization, stripe):
    """Looked up after termination and found declined: no retry, no mail, the plan stays
    terminated (a retry schedule would only be followed once the plan is resumed)."""
    from credits.services.recharge import recharge_terminate

    _plan(organization)
    stripe.script = [fake_stripe.PROCESSING]
    recharge_jobs.run_recharges(now=START)
    recharge_terminate(organization=organization, now=START + timedelta(minutes=5))
    stripe.now_says("pi_fake1", fake_stripe.DECLINED)
    mail.outbox.clear()

    recharge_jobs.run_recharges(now=START + timedelta(hours=1))
    recharge_jobs.run_recharges(now=START + timedelta(days=3))

    charge = RechargeCharge.objects.get()
    assert charge.status == ChargeStatus.FAILED
    assert len(stripe.charges) == 1
    assert mail.outbox == []
    assert charge.plan.status == RechargeStatus.TERMINATED


def test_a_terminated_plans_pending_charge_is_looked_up_again_after_an_outage(
    organization, stripe, monkeypatch
):
    from credits.services.recharge import recharge_terminate

    _plan(organization)
    stripe.script = [fake_stripe.PROCESSING]
    recharge_jobs.run_recharges(now=START)
    plan = recharge_terminate(organization=organization, now=START + timedelta(minutes=5))
    looked_up = stripe_client.payment_intent_retrieve

    def down(**kwargs):
        raise PaymentProviderUnavailable("Stripe did not answer.")

    monkeypatch.setattr(stripe_client, "payment_intent_retrieve", down)
    recharge_jobs.run_recharges(now=START + timedelta(minutes=15))
    monkeypatch.setattr(stripe_client, "payment_intent_retrieve", looked_up)
    stripe.now_says("pi_fake1", fake_stripe.SUCCEEDED)
    mail.outbox.clear()
    recharge_jobs.run_recharges(now=START + timedelta(hours=1))

    assert RechargeCharge.objects.get().status == ChargeStatus.SUCCEEDED
    assert _balance(organization) == 103_000_000
    assert len(stripe.charges) == 1
    plan.refresh_from_db()
    assert "could not reach" not in plan.last_result
