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
def test_killed_between_charge_and_grant_grants_without_a_second_intent(owner, stripe_server, monkeypatch):
    _plan(owner.organization, localstripe.VISA, stripe_server)
    real_grant = recharge_jobs._grant
    monkeypatch.setattr(recharge_jobs, "_grant", lambda *a, **k: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        recharge_jobs.run_recharges(now=START)
    monkeypatch.setattr(recharge_jobs, "_grant", real_grant)

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
