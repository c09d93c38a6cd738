"""Auto-recharge asks for the refund policy like a purchase: on start, and again after the
policy's version changed; the acceptance travels onto every charge the plan makes."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from credits.exceptions import RefundPolicyNotAccepted
from credits.models import AutoRecharge, BillingPolicy, Purchase
from credits.services import recharge_jobs
from credits.services.recharge import RechargeSettings, recharge_save, recharge_terminate
from tests import fake_stripe
from tests.factories import MembershipFactory, PaymentMethodFactory, StripeCustomerFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 20, 9, tzinfo=UTC)
SETTINGS = RechargeSettings(amount_cents=10_000, frequency="monthly", billing_date=date(2026, 2, 1))


def _save(membership, *, accepted, now=NOW, settings=SETTINGS):
    return recharge_save(
        organization=membership.organization, settings=settings, user=membership.user, now=now,
        refund_policy_accepted=accepted,
    )


def test_starting_needs_acceptance_and_stores_who_when_and_which_version():
    owner = MembershipFactory(role="owner")

    with pytest.raises(RefundPolicyNotAccepted):
        _save(owner, accepted=False)
    assert not AutoRecharge.objects.exists()

    plan = _save(owner, accepted=True)
    assert (plan.refund_policy_version, plan.refund_policy_accepted_at, plan.refund_policy_accepted_by) == (
        BillingPolicy.current().refund_policy_version, NOW, owner.user,
    )


def test_a_new_policy_version_asks_again_at_the_next_edit_and_charges_carry_it(monkeypatch):
    fake_stripe.ScriptedStripe(monkeypatch)
    owner = MembershipFactory(role="owner")
    fake_stripe.default_card(owner.organization)
    _save(owner, accepted=True)
    # Same version: an edit without ticking the box is fine and keeps the acceptance.
    bigger = RechargeSettings(amount_cents=20_000, frequency="monthly", billing_date=date(2026, 2, 1))
    plan = _save(owner, accepted=False, settings=bigger)
    assert plan.refund_policy_accepted_at == NOW

    policy = BillingPolicy.current()
    policy.refund_policy_version = "2026-06-01"
    policy.save()
    with pytest.raises(RefundPolicyNotAccepted, match="changed"):
        _save(owner, accepted=False)
    later = NOW + timedelta(days=3)
    _save(owner, accepted=True, now=later)

    recharge_jobs.run_recharges(now=datetime(2026, 2, 1, 8, tzinfo=UTC))
    purchase = Purchase.objects.get()
    assert (purchase.refund_policy_version, purchase.refund_policy_accepted_at) == ("2026-06-01", later)


def test_restarting_a_terminated_plan_asks_again():
    owner = MembershipFactory(role="owner")
    _save(owner, accepted=True)
    recharge_terminate(organization=owner.organization, now=NOW)

    with pytest.raises(RefundPolicyNotAccepted):
        _save(owner, accepted=False)


def test_the_form_shows_the_checkbox_and_refuses_without_it(client):
    owner = MembershipFactory(role="owner")
    # Saving a plan also needs a saved card (the page refuses without one).
    PaymentMethodFactory(customer=StripeCustomerFactory(organization=owner.organization), is_default=True)
    client.force_login(owner.user)
    data = {"amount": "100", "frequency": "monthly", "billing_date": "2099-01-31", "save": "1"}

    page = client.get(reverse("credits:auto_recharge")).content.decode()
    refused = client.post(reverse("credits:auto_recharge"), data)

    assert 'name="accept_refund_policy"' in page and 'id="policy-needed"' in page
    assert refused.status_code == 400
    assert "Please accept the refund policy" in refused.content.decode()
    client.post(reverse("credits:auto_recharge"), {**data, "accept_refund_policy": "on"})
    assert 'id="policy-accepted"' in client.get(reverse("credits:auto_recharge")).content.decode()
