"""Auto-recharge against localstripe: real PaymentIntents, counted."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse

from credits.models import ChargeStatus, CreditAccount, RechargeCharge
from credits.services import recharge_jobs
from credits.services.recharge import RechargeSettings, recharge_save
from tests import localstripe
from tests.factories import saved_card

START = datetime(2026, 1, 31, 8, tzinfo=UTC)


def _plan(organization, card_number, stripe_server):
    saved_card(organization, card_number, stripe_server)
    return recharge_save(
        organization=organization,
        settings=RechargeSettings(amount_cents=10_000, frequency="monthly", billing_date=date(2026, 1, 31)),
        user=None,
        now=START,
        refund_policy_accepted=True,
    )


def _balance(organization):
    return CreditAccount.objects.get(organization=organization).balance_micros


@pytest.mark.django_db
def test_due_plan_is_charged_once_even_when_the_job_runs_twice(owner, stripe_server):
    _plan(owner.organization, localstripe.VISA, stripe_server)

    recharge_jobs.run_recharges(now=START)
    recharge_jobs.run_recharges(now=START + timedelta(minutes=1))

    assert len(stripe_server.payment_intents()) == 1
    assert _balance(owner.organization) == 103_000_000


@pytest.mark.django_db
def test_declined_card_grants_nothing_and_shows_on_the_credit_page(owner, owner_client, stripe_server):
    _plan(owner.organization, localstripe.CHARGE_DECLINED, stripe_server)

    recharge_jobs.run_recharges(now=START)

    charge = RechargeCharge.objects.get()
    assert charge.status == ChargeStatus.FAILED
    assert _balance(owner.organization) == 0
    page = owner_client.get(reverse("credits:credit")).content.decode()
    assert "Auto-recharge payment of $100.00 failed" in page
    assert "Update your card" in page


@pytest.mark.django_db
def test_three_d_secure_off_session_is_authenticated_in_the_page(owner, owner_client, stripe_server):
    _plan(owner.organization, localstripe.THREE_D_SECURE, stripe_server)

    recharge_jobs.run_recharges(now=START)
    charge = RechargeCharge.objects.get()
    assert charge.status == ChargeStatus.REQUIRES_ACTION
    assert "Authenticate the payment" in owner_client.get(reverse("credits:credit")).content.decode()

    page = owner_client.get(reverse("credits:auto_recharge_authenticate", args=[charge.pk]))
    client_secret = page.context["client_secret"]
    stripe_server.authenticate(client_secret, success=True)
    owner_client.post(reverse("credits:auto_recharge_authenticate", args=[charge.pk]))

    charge.refresh_from_db()
    assert charge.status == ChargeStatus.SUCCEEDED
    assert _balance(owner.organization) == 103_000_000
    assert len(stripe_server.payment_intents()) == 1


@pytest.mark.django_db
def test_a_retry_cancels_the_intent_the_customer_did_not_authenticate(owner, stripe_server):
    """On Stripe's API (localstripe): the day-1 retry cancels the first intent, still waiting
    for 3-D Secure, before it makes the second; the first can no longer be paid."""
    _plan(owner.organization, localstripe.THREE_D_SECURE, stripe_server)

    recharge_jobs.run_recharges(now=START)
    recharge_jobs.run_recharges(now=START + timedelta(days=1))

    assert [intent["status"] for intent in stripe_server.payment_intents()] == ["canceled", "requires_action"]
    assert RechargeCharge.objects.get().status == ChargeStatus.REQUIRES_ACTION
    assert _balance(owner.organization) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_charge_each_due_plan_once(stripe_server):
    from tests.factories import MembershipFactory

    organizations = [MembershipFactory().organization for _ in range(3)]
    for organization in organizations:
        _plan(organization, localstripe.VISA, stripe_server)
    barrier = threading.Barrier(2)
    errors = []

    def worker():
        try:
            barrier.wait()
            recharge_jobs.run_recharges(now=START)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(stripe_server.payment_intents()) == 3
    for organization in organizations:
        assert _balance(organization) == 103_000_000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_retry_now_during_the_jobs_stripe_call_never_charges_again(owner, stripe_server, monkeypatch):
    """Staff press "retry now" while the job is inside its Stripe call for the same charge.
    The retry waits for the job's row lock; when it gets the lock it must see the purchase
    as the job left it (paid, with its intent) and grant, not charge the card a second time."""
    from credits import stripe_client

    _plan(owner.organization, localstripe.VISA, stripe_server)
    recharge_jobs.schedule_due_charges(now=START)
    charge_id = RechargeCharge.objects.get().pk
    in_stripe = threading.Event()
    release = threading.Event()
    real_create = stripe_client.payment_intent_create_and_confirm

    def slow_create(**kwargs):
        intent = real_create(**kwargs)
        if not in_stripe.is_set():
            in_stripe.set()
            release.wait(timeout=30)
        return intent

    monkeypatch.setattr(stripe_client, "payment_intent_create_and_confirm", slow_create)
    errors = []

    def run(target):
        try:
            target()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    job = threading.Thread(target=run, args=(lambda: recharge_jobs.process_due_charges(now=START),))
    staff = threading.Thread(
        target=run, args=(lambda: recharge_jobs.retry_charge_now(charge_id=charge_id, now=START),)
    )
    job.start()
    assert in_stripe.wait(timeout=30)
    staff.start()
    # Let the job commit only once the staff retry is waiting for the charge's row lock.
    for _ in range(300):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                break
        threading.Event().wait(0.05)
    else:
        pytest.fail("the staff retry never waited for the job's lock")
    release.set()
    job.join()
    staff.join()

    assert errors == []
    assert len(stripe_server.payment_intents()) == 1
    assert RechargeCharge.objects.get().status == ChargeStatus.SUCCEEDED
    assert _balance(owner.organization) == 103_000_000


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_purchase_being_written_does_not_make_the_job_skip_the_plan(owner, stripe_server):
    """Writing any row that points at the organization (a purchase, usage) takes a key-share
    lock on it when its foreign keys are checked (at commit; here at once, to hold that
    moment open). The job's SKIP LOCKED must lock the plan row alone, or it skips a due plan."""
    from django.db import transaction

    from credits.services.purchases import purchase_create

    _plan(owner.organization, localstripe.VISA, stripe_server)
    writing = threading.Event()
    done = threading.Event()

    def purchase_in_flight():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                purchase_create(
                    organization=owner.organization,
                    amount_cents=2_000,
                    key="in-flight",
                    created_by=None,
                    refund_policy_version="",
                    refund_policy_accepted_at=None,
                    now=START,
                )
                writing.set()
                done.wait(timeout=30)
        finally:
            connection.close()

    writer = threading.Thread(target=purchase_in_flight)
    writer.start()
    try:
        assert writing.wait(timeout=30)
        assert recharge_jobs.schedule_due_charges(now=START) == 1
    finally:
        done.set()
        writer.join()
    assert RechargeCharge.objects.count() == 1
