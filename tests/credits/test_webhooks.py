"""The Stripe webhook: Stripe-shaped JSON, signed for real with the webhook secret."""

import hashlib
import hmac
import json
import threading
import time

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from credits.models import CreditLot, LedgerEntry, Purchase, PurchaseStatus, StripeEvent
from credits.services.purchases import purchase_create
from tests import localstripe
from tests.factories import paid_purchase, saved_card

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_secret"


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


def _signed(payload: bytes, secret: str = SECRET, at: int | None = None) -> str:
    timestamp = at or int(time.time())
    signature = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={signature.hexdigest()}"


def _post(client, event: dict, signature: str | None = None):
    payload = json.dumps(event).encode()
    headers = {"HTTP_STRIPE_SIGNATURE": signature if signature is not None else _signed(payload)}
    return client.post(
        reverse("credits:stripe_webhook"), payload, content_type="application/json", **headers
    )


def _event(event_type: str, obj: dict, event_id: str = "evt_1") -> dict:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "created": int(time.time()),
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
    }


def _intent(purchase: Purchase, intent_id: str = "pi_1", status: str = "succeeded", **extra) -> dict:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": purchase.amount_cents,
        "currency": "usd",
        "status": status,
        "customer": "cus_1",
        "payment_method": "pm_1",
        "metadata": {"purchase_id": str(purchase.pk)},
        **extra,
    }


def _pending(organization, amount_cents=50_000, key="k1") -> Purchase:
    now = timezone.now()
    return purchase_create(
        organization=organization, amount_cents=amount_cents, key=key, created_by=None,
        refund_policy_version="test", refund_policy_accepted_at=now, now=now,
    )


def _lots(organization):
    return CreditLot.objects.filter(account__organization=organization)


def test_bad_signature_is_400_and_nothing_is_stored(client, owner):
    purchase = _pending(owner.organization)
    event = _event("payment_intent.succeeded", _intent(purchase))
    forged = _signed(json.dumps(event).encode(), secret="whsec_someone_else")

    response = _post(client, event, signature=forged)

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    assert not _lots(owner.organization).exists()


def test_missing_signature_is_400(client, owner):
    response = _post(client, _event("payment_intent.succeeded", {"id": "pi_x"}), signature="")

    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_old_signature_is_refused(client):
    event = _event("customer.created", {"id": "cus_1"})
    stale = _signed(json.dumps(event).encode(), at=int(time.time()) - 3600)

    assert _post(client, event, signature=stale).status_code == 400


def test_body_changed_after_signing_is_refused(client, owner):
    purchase = _pending(owner.organization)
    event = _event("payment_intent.succeeded", _intent(purchase))
    signature = _signed(json.dumps(event).encode())
    event["data"]["object"]["amount"] = 1

    assert _post(client, event, signature=signature).status_code == 400


def test_unknown_event_type_is_200_stored_and_ignored(client, owner):
    response = _post(client, _event("customer.subscription.created", {"id": "sub_1"}))

    assert response.status_code == 200
    event = StripeEvent.objects.get()
    assert (event.type, event.error, event.purchase) == ("customer.subscription.created", "", None)
    assert event.processed_at is not None
    assert LedgerEntry.objects.count() == 0


def test_payment_succeeded_grants_the_purchase(client, owner):
    purchase = _pending(owner.organization)

    response = _post(client, _event("payment_intent.succeeded", _intent(purchase)))

    assert response.status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.SUCCEEDED
    assert purchase.stripe_payment_intent_id == "pi_1"
    assert sorted(_lots(owner.organization).values_list("original_micros", flat=True)) == [
        25_000_000, 500_000_000
    ]
    assert StripeEvent.objects.get().purchase == purchase


def test_replaying_a_stored_event_changes_nothing(client, owner):
    purchase = _pending(owner.organization)
    event = _event("payment_intent.succeeded", _intent(purchase))
    _post(client, event)
    processed_at = StripeEvent.objects.get().processed_at

    response = _post(client, event)

    assert response.status_code == 200
    assert StripeEvent.objects.count() == 1
    assert StripeEvent.objects.get().processed_at == processed_at
    assert _lots(owner.organization).count() == 2
    assert LedgerEntry.objects.count() == 2


def test_a_new_event_for_a_granted_purchase_grants_nothing_more(client, owner):
    purchase = _pending(owner.organization)
    _post(client, _event("payment_intent.succeeded", _intent(purchase), event_id="evt_1"))

    _post(client, _event("payment_intent.succeeded", _intent(purchase), event_id="evt_2"))

    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 2
    assert LedgerEntry.objects.count() == 2


def test_payment_failed_after_succeeded_takes_nothing_back(client, owner):
    purchase = _pending(owner.organization)
    _post(client, _event("payment_intent.succeeded", _intent(purchase), event_id="evt_ok"))
    failed = _intent(
        purchase, status="requires_payment_method",
        last_payment_error={"message": "Your card was declined."},
    )

    response = _post(client, _event("payment_intent.payment_failed", failed, event_id="evt_late"))

    assert response.status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.SUCCEEDED
    assert purchase.failure_message == ""
    assert _lots(owner.organization).count() == 2
    assert LedgerEntry.objects.count() == 2


def test_payment_failed_marks_a_pending_purchase_failed(client, owner):
    purchase = _pending(owner.organization)
    failed = _intent(
        purchase, status="requires_payment_method",
        last_payment_error={"message": "Your card has insufficient funds."},
    )

    _post(client, _event("payment_intent.payment_failed", failed))

    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.FAILED
    assert purchase.failure_message == "Your card has insufficient funds."
    assert not _lots(owner.organization).exists()


def test_event_for_an_unknown_purchase_is_kept_with_its_error(client, owner):
    stranger = {"id": "pi_elsewhere", "amount": 100, "currency": "usd", "metadata": {}}

    response = _post(client, _event("payment_intent.succeeded", stranger))

    assert response.status_code == 200
    event = StripeEvent.objects.get()
    assert event.processed_at is None
    assert event.error.startswith("purchase_unknown")


def test_a_second_intent_for_one_purchase_is_flagged_not_granted_twice(client, owner):
    purchase = _pending(owner.organization)
    _post(client, _event("payment_intent.succeeded", _intent(purchase, "pi_first"), event_id="evt_1"))

    _post(client, _event("payment_intent.succeeded", _intent(purchase, "pi_second"), event_id="evt_2"))

    assert StripeEvent.objects.get(stripe_id="evt_2").error.startswith("duplicate_payment")
    assert LedgerEntry.objects.count() == 2


def test_amount_mismatch_is_not_granted(client, owner):
    purchase = _pending(owner.organization)

    _post(client, _event("payment_intent.succeeded", _intent(purchase, amount=100)))

    assert StripeEvent.objects.get().error.startswith("amount_mismatch")
    assert not _lots(owner.organization).exists()


def test_charge_refunded_is_recorded_against_the_purchase(client, owner):
    purchase = paid_purchase(owner.organization, 50_000, timezone.now())
    Purchase.objects.filter(pk=purchase.pk).update(stripe_payment_intent_id="pi_paid")
    charge = {"id": "ch_1", "object": "charge", "payment_intent": "pi_paid", "amount_refunded": 50_000}

    response = _post(client, _event("charge.refunded", charge))

    assert response.status_code == 200
    event = StripeEvent.objects.get()
    assert event.purchase_id == purchase.pk and event.processed_at is not None
    assert LedgerEntry.objects.count() == 2  # reversing is the refund approval's job


def test_webhook_twice_and_the_redirect_give_one_lot_each(client, owner_client, owner, stripe_server):
    """Against localstripe: 3-D Secure purchase, then Stripe's event twice, then the page."""
    card = saved_card(owner.organization, localstripe.THREE_D_SECURE, stripe_server)
    page = owner_client.post(
        reverse("credits:buy"),
        {"amount": "500", "payment_method": card.pk, "token": "t", "accept_refund_policy": "on"},
    )
    purchase = Purchase.objects.get()
    stripe_server.authenticate(page.context["client_secret"], success=True)
    intent = stripe_server.payment_intent(purchase.stripe_payment_intent_id)
    event = _event("payment_intent.succeeded", intent, event_id="evt_from_localstripe")

    assert _post(client, event).status_code == 200
    assert _post(client, event).status_code == 200
    redirect = owner_client.post(reverse("credits:buy_confirm", args=[purchase.pk]))

    assert redirect["Location"] == reverse("credits:receipt", args=[purchase.pk])
    purchase.refresh_from_db()
    assert purchase.status == PurchaseStatus.SUCCEEDED
    assert (purchase.card_brand, purchase.card_last4) == ("visa", "3184")
    assert _lots(owner.organization).count() == 2
    assert LedgerEntry.objects.count() == 2
    assert StripeEvent.objects.count() == 1
    assert len(stripe_server.payment_intents()) == 1


def test_redirect_first_then_webhook_gives_one_lot_each(client, owner_client, owner, stripe_server):
    card = saved_card(owner.organization, localstripe.VISA, stripe_server)
    owner_client.post(
        reverse("credits:buy"),
        {"amount": "500", "payment_method": card.pk, "token": "t", "accept_refund_policy": "on"},
    )
    purchase = Purchase.objects.get()
    intent = stripe_server.payment_intent(purchase.stripe_payment_intent_id)

    _post(client, _event("payment_intent.succeeded", intent))

    assert StripeEvent.objects.get().processed_at is not None
    assert _lots(owner.organization).count() == 2
    assert LedgerEntry.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_deliveries_store_and_grant_once(owner):
    purchase = _pending(owner.organization)
    event = _event("payment_intent.succeeded", _intent(purchase))
    barrier = threading.Barrier(4)
    statuses = []

    def deliver():
        try:
            barrier.wait()
            statuses.append(_post(Client(), event).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200, 200, 200, 200]
    assert StripeEvent.objects.count() == 1
    assert _lots(owner.organization).count() == 2
    assert LedgerEntry.objects.count() == 2


@pytest.mark.parametrize("data", [{}, {"object": None}, {"object": "pi_1"}, None, []])
def test_a_signed_event_without_data_object_is_stored_failed_and_answered_400(client, data):
    event = {**_event("payment_intent.succeeded", {}, event_id="evt_hollow"), "data": data}

    response = _post(client, event)

    assert response.status_code == 400
    stored = StripeEvent.objects.get(stripe_id="evt_hollow")
    assert stored.processed_at is None
    assert stored.error == "malformed_event: The event has no data.object."


def test_a_signed_intent_missing_its_fields_is_stored_failed_and_answered_400(client, owner):
    purchase = _pending(owner.organization)
    intent = {"object": "payment_intent", "metadata": {"purchase_id": str(purchase.pk)}}

    response = _post(client, _event("payment_intent.succeeded", intent, event_id="evt_partial"))

    assert response.status_code == 400
    stored = StripeEvent.objects.get(stripe_id="evt_partial")
    assert stored.error.startswith("malformed_event: KeyError")
    purchase.refresh_from_db()
    assert purchase.granted_at is None


def test_a_signature_dated_more_than_five_minutes_ahead_is_refused(client):
    event = _event("payment_intent.succeeded", {"id": "pi_x"})
    ahead = _signed(json.dumps(event).encode(), at=int(time.time()) + 3600)

    assert _post(client, event, signature=ahead).status_code == 400
    assert not StripeEvent.objects.exists()


def test_a_signature_a_minute_ahead_is_clock_skew_and_accepted(client):
    event = _event("customer.created", {"id": "cus_1"}, event_id="evt_skew")
    skewed = _signed(json.dumps(event).encode(), at=int(time.time()) + 60)

    assert _post(client, event, signature=skewed).status_code == 200


def test_a_charge_refunded_at_stripe_pays_an_approved_refund_still_waiting(
    client, owner, monkeypatch, django_capture_on_commit_callbacks
):
    """Our refund call kept failing and finance refunded in Stripe's dashboard: Stripe's
    charge.refunded finishes the approved request (the job would otherwise keep trying)."""
    from credits.models import PurchaseStatus, RefundStatus
    from credits.services import refunds
    from tests import fake_stripe

    stripe = fake_stripe.ScriptedStripe(monkeypatch)
    stripe.refund_script = [fake_stripe.UNAVAILABLE]
    purchase = paid_purchase(owner.organization, 50_000, timezone.now())
    Purchase.objects.filter(pk=purchase.pk).update(stripe_payment_intent_id="pi_paid")
    request = refunds.refund_request(
        organization=owner.organization, purchase_id=purchase.pk, reason="x", user=owner.user,
        now=timezone.now(),
    )
    refunds.refund_approve(request_id=request.pk, staff=None, now=timezone.now())
    charge = {
        "id": "ch_1", "object": "charge", "payment_intent": "pi_paid", "amount_refunded": 50_000,
        "refunds": {"object": "list", "data": [{"id": "re_dashboard"}]},
    }

    with django_capture_on_commit_callbacks(execute=True):
        assert _post(client, _event("charge.refunded", charge)).status_code == 200

    request.refresh_from_db()
    purchase.refresh_from_db()
    assert (request.status, request.stripe_refund_id) == (RefundStatus.REFUNDED, "re_dashboard")
    assert purchase.status == PurchaseStatus.REFUNDED
    assert stripe.refunds == []  # nothing refunded twice
    assert [m.subject for m in mail.outbox] == ["Your refund was approved"]
