"""Refund approval against localstripe: the refund is created once, whatever happens."""

import pytest
from django.urls import reverse
from django.utils import timezone

from credits.models import CreditAccount, RefundStatus
from credits.services import refunds
from tests import localstripe
from tests.factories import UserFactory, saved_card

pytestmark = pytest.mark.django_db


def _paid_purchase(owner_client, owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)
    owner_client.post(
        reverse("credits:buy"),
        {"amount": "500", "payment_method": card.pk, "token": "t-1", "accept_refund_policy": "on"},
    )
    return owner.organization.purchases.get()


def test_approve_twice_refunds_once_at_stripe(owner_client, owner, stripe_server):
    purchase = _paid_purchase(owner_client, owner, stripe_server)
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake",
        user=owner.user, now=timezone.now(),
    )
    staff = UserFactory(is_staff=True)

    refunds.refund_approve(request_id=request.pk, staff=staff, now=timezone.now())
    refunds.refund_approve(request_id=request.pk, staff=staff, now=timezone.now())

    [refund] = stripe_server.refunds()
    assert (refund["amount"], refund["payment_intent"]) == (50_000, purchase.stripe_payment_intent_id)
    request.refresh_from_db()
    assert (request.status, request.stripe_refund_id) == (RefundStatus.REFUNDED, refund["id"])
    assert CreditAccount.objects.get(organization=owner.organization).balance_micros == 0


def test_crash_after_the_stripe_refund_does_not_refund_twice(owner_client, owner, stripe_server, monkeypatch):
    from credits import stripe_client

    purchase = _paid_purchase(owner_client, owner, stripe_server)
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="mistake",
        user=owner.user, now=timezone.now(),
    )
    real_refund = stripe_client.refund_create

    def refund_then_die(**kwargs):
        real_refund(**kwargs)
        raise SystemExit("process died before our commit")

    monkeypatch.setattr(stripe_client, "refund_create", refund_then_die)
    with pytest.raises(SystemExit):
        refunds.refund_approve(request_id=request.pk, staff=None, now=timezone.now())
    monkeypatch.setattr(stripe_client, "refund_create", real_refund)
    request.refresh_from_db()
    assert request.status == RefundStatus.APPROVED_UNPAID  # the claim had committed

    refunds.refund_approve(request_id=request.pk, staff=None, now=timezone.now())

    [refund] = stripe_server.refunds()
    request.refresh_from_db()
    assert (request.status, request.stripe_refund_id) == (RefundStatus.REFUNDED, refund["id"])
    assert CreditAccount.objects.get(organization=owner.organization).balance_micros == 0
