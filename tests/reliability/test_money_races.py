"""One organization, every money path at once: purchases, usage, auto-recharge, refunds and
staff adjustments racing each other, with the books checked to the micro-dollar after each."""

import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from credits import stripe_client
from credits.exceptions import CreditsError
from credits.models import Purchase, PurchaseStatus, RechargeCharge, RefundStatus, UsageEvent
from credits.services import checkout, ledger, purchases, recharge_jobs, refunds, usage
from credits.services.recharge import RechargeSettings, recharge_save
from tests import localstripe
from tests.credits.scenarios import event
from tests.factories import MembershipFactory, UserFactory, saved_card
from tests.reliability.books import assert_books, balance, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# Solar Pro 2 at 1,000 input tokens, the scenarios' default event.
EVENT_MICROS = 150
# $100 earns a 3% bonus (the seeded schedule); below $100 there is none.
HUNDRED_WITH_BONUS = 103_000_000


def _batch(organization, ids, now):
    events = usage.validate_usage_batch(payload={"events": [event(i, organization, at=now) for i in ids]})
    return lambda: usage.record_usage_batch(events=events, api_key=None, now=now)


def _pending(organization, amount_cents, key, now):
    return purchases.purchase_create(
        organization=organization,
        amount_cents=amount_cents,
        key=key,
        created_by=None,
        refund_policy_version="test",
        refund_policy_accepted_at=now,
        now=now,
    )


def _create_and_grant(organization, amount_cents, key, now):
    def call():
        purchase = _pending(organization, amount_cents, key, now)
        return purchases.record_purchase(purchase_id=purchase.pk, now=now)

    return call


def _pay(membership, card, token, now):
    return lambda: checkout.purchase_pay(
        organization=membership.organization,
        user=membership.user,
        amount_cents=5_000,
        payment_method_id=card.pk,
        token=token,
        refund_policy_accepted=True,
        now=now,
    )


def test_purchases_granted_at_once_are_granted_once_each(stripe_server):
    membership = MembershipFactory()
    organization = membership.organization
    card = saved_card(organization, localstripe.VISA, stripe_server)
    now = timezone.now()
    manual = _pending(organization, 2_000, "manual-1", now)

    results = race(
        # The same pending purchase granted twice at once (webhook and request, say).
        lambda: purchases.record_purchase(purchase_id=manual.pk, now=now),
        lambda: purchases.record_purchase(purchase_id=manual.pk, now=now),
        # The same key created and granted twice at once (a double-submitted form).
        _create_and_grant(organization, 3_000, "staff-1", now),
        _create_and_grant(organization, 3_000, "staff-1", now),
        # The buy form sent twice at once: one PaymentIntent.
        _pay(membership, card, "token-1", now),
        _pay(membership, card, "token-1", now),
    )

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert Purchase.objects.count() == 3
    assert len(stripe_server.payment_intents()) == 1
    # The second buy request may come back before the first has heard from Stripe.
    checkout.purchase_confirm(organization=organization, purchase_id=results[4].purchase.pk, now=now)
    assert Purchase.objects.filter(granted_at__isnull=False).count() == 3
    expected = 20_000_000 + 30_000_000 + 50_000_000
    assert_books(organization, expected_micros=expected, stripe_server=stripe_server)


def test_refund_approved_while_usage_arrives_never_gives_the_usage_away(stripe_server):
    """The refund's Stripe call is held until a usage batch has landed (no lock that usage
    needs is held across it): the customer either is refused the refund (usage came first)
    or owes the usage (the credits were taken back first), never both refunded in full and
    served for free."""
    membership = MembershipFactory()
    organization = membership.organization
    card = saved_card(organization, localstripe.VISA, stripe_server)
    now = timezone.now()
    paid = _pay(membership, card, "token-1", now)().purchase
    request = refunds.refund_request(
        organization=organization,
        purchase_id=paid.pk,
        reason="Bought by mistake",
        user=membership.user,
        now=now,
    )
    staff = UserFactory(is_staff=True)
    refund_started, usage_done = threading.Event(), threading.Event()
    real_refund_create = stripe_client.refund_create

    def slow_refund_create(**kwargs):
        refund_started.set()
        assert usage_done.wait(timeout=10), "the usage waited for the refund's Stripe call"
        return real_refund_create(**kwargs)

    record_batch = _batch(organization, [f"e{n}" for n in range(10)], now)

    def usage_after_the_check():
        refund_started.wait(timeout=5)
        try:
            return record_batch()
        finally:
            usage_done.set()

    stripe_client.refund_create = slow_refund_create
    try:
        approval, batch = race(
            lambda: refunds.refund_approve(request_id=request.pk, staff=staff, now=now), usage_after_the_check
        )
    finally:
        stripe_client.refund_create = real_refund_create

    assert not isinstance(batch, BaseException), batch
    assert UsageEvent.objects.count() == 10
    request.refresh_from_db()
    if isinstance(approval, CreditsError):
        assert approval.code == "ineligible"
        assert request.status != RefundStatus.REFUNDED and stripe_server.refunds() == []
        expected = 50_000_000 - 10 * EVENT_MICROS
    else:
        assert request.status == RefundStatus.REFUNDED and len(stripe_server.refunds()) == 1
        # The whole payment went back, so the usage is owed.
        expected = -10 * EVENT_MICROS
    assert_books(organization, expected_micros=expected, stripe_server=stripe_server)


def test_every_money_path_at_once_on_one_organization(stripe_server):
    membership = MembershipFactory()
    organization = membership.organization
    saved_card(organization, localstripe.VISA, stripe_server)
    now = timezone.now()
    recharge_save(
        organization=organization,
        settings=RechargeSettings(amount_cents=10_000, frequency="monthly", billing_date=now.date()),
        user=None,
        now=now,
        refund_policy_accepted=True,
    )
    earlier = _create_and_grant(organization, 2_000, "earlier", now)()

    results = race(
        # Two job workers for the same due plan: one charge.
        lambda: recharge_jobs.run_recharges(now=now),
        lambda: recharge_jobs.run_recharges(now=now),
        # Two batches sharing 30 event ids: 90 events.
        _batch(organization, [f"e{n}" for n in range(0, 60)], now),
        _batch(organization, [f"e{n}" for n in range(30, 90)], now),
        # Staff corrections both ways, odd amounts so a lost update shows.
        lambda: ledger.adjust_credits(
            organization=organization, amount_micros=1_234_567, reason="goodwill", created_by=None, now=now
        ),
        lambda: ledger.adjust_credits(
            organization=organization, amount_micros=-765_433, reason="correction", created_by=None, now=now
        ),
        # A late duplicate grant of a purchase granted long ago.
        lambda: purchases.record_purchase(purchase_id=earlier.pk, now=now),
        _create_and_grant(organization, 4_000, "during", now),
    )

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sum(r["paid"] for r in results[:2]) == 1
    assert RechargeCharge.objects.get().purchase.status == PurchaseStatus.SUCCEEDED
    assert len(results[2].accepted) + len(results[3].accepted) == 90
    assert UsageEvent.objects.count() == 90
    assert len(stripe_server.payment_intents()) == 1
    expected = 20_000_000 + HUNDRED_WITH_BONUS - 90 * EVENT_MICROS + 1_234_567 - 765_433 + 40_000_000
    assert_books(organization, expected_micros=expected, stripe_server=stripe_server)

    # The job running again later finds nothing due and charges nothing.
    assert recharge_jobs.run_recharges(now=now + timedelta(hours=1))["paid"] == 0
    assert len(stripe_server.payment_intents()) == 1
    assert balance(organization) == expected
