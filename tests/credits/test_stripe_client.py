"""The Stripe wrapper against localstripe: what comes back, and Stripe's errors as ours."""

import pytest
from django.utils import timezone

from credits import stripe_client
from credits.exceptions import (
    AuthenticationRequired,
    CardDeclined,
    PaymentProviderUnavailable,
    StripeRequestRejected,
    WebhookSignatureInvalid,
)
from tests import localstripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(stripe_server):
    return stripe_client.customer_create(name="Acme", organization_id=1, idempotency_key="c-1")


def _attached(stripe_server, customer, number):
    return stripe_client.payment_method_attach(
        payment_method_id=stripe_server.card(number), customer=customer
    ).id


def test_charge_succeeds_with_metadata(stripe_server, customer):
    card = _attached(stripe_server, customer, localstripe.VISA)

    intent = stripe_client.payment_intent_create_and_confirm(
        customer=customer, payment_method=card, amount_cents=1_234, idempotency_key="k",
        metadata={"purchase_id": "7"},
    )

    assert (intent.status, intent.amount_cents, intent.currency) == ("succeeded", 1_234, "usd")
    assert intent.metadata == {"purchase_id": "7"}
    assert stripe_client.payment_intent_retrieve(payment_intent_id=intent.id) == intent


def test_decline_carries_the_bank_message(stripe_server, customer):
    card = _attached(stripe_server, customer, localstripe.CHARGE_DECLINED)

    with pytest.raises(CardDeclined) as error:
        stripe_client.payment_intent_create_and_confirm(
            customer=customer, payment_method=card, amount_cents=1_000, idempotency_key="k"
        )

    assert (error.value.code, error.value.message) == ("card_declined", "Your card was declined.")
    assert not error.value.retryable


def test_off_session_three_d_secure_is_authentication_required(stripe_server, customer):
    card = _attached(stripe_server, customer, localstripe.THREE_D_SECURE)

    with pytest.raises(AuthenticationRequired) as error:
        stripe_client.payment_intent_create_and_confirm(
            customer=customer, payment_method=card, amount_cents=1_000, idempotency_key="k",
            off_session=True,
        )

    assert error.value.payment_intent_id.startswith("pi_")


def test_on_session_three_d_secure_requires_action(stripe_server, customer):
    card = _attached(stripe_server, customer, localstripe.THREE_D_SECURE)

    intent = stripe_client.payment_intent_create_and_confirm(
        customer=customer, payment_method=card, amount_cents=1_000, idempotency_key="k"
    )

    assert intent.status == "requires_action" and intent.client_secret.startswith(intent.id)


def test_unknown_object_is_rejected_request(stripe_server):
    with pytest.raises(StripeRequestRejected):
        stripe_client.payment_intent_retrieve(payment_intent_id="pi_missing")


def test_unreachable_stripe_is_retryable(settings):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{localstripe.free_port()}"

    with pytest.raises(PaymentProviderUnavailable) as error:
        stripe_client.customer_create(name="Acme", organization_id=1, idempotency_key="c")

    assert error.value.retryable


def test_refund_returns_its_id(stripe_server, customer):
    card = _attached(stripe_server, customer, localstripe.VISA)
    intent = stripe_client.payment_intent_create_and_confirm(
        customer=customer, payment_method=card, amount_cents=1_000, idempotency_key="k"
    )

    refund_id = stripe_client.refund_create(
        payment_intent_id=intent.id, amount_cents=1_000, idempotency_key="r"
    )

    assert refund_id.startswith("re_")


def test_list_and_detach(stripe_server, customer):
    card = _attached(stripe_server, customer, localstripe.VISA)

    assert [c.id for c in stripe_client.payment_method_list(customer=customer)] == [card]
    assert stripe_client.payment_method_detach(payment_method_id=card).customer is None


def test_webhook_payload_must_be_signed(settings):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"

    with pytest.raises(WebhookSignatureInvalid):
        stripe_client.webhook_construct_event(
            payload=b'{"id": "evt_1"}', signature="t=1,v1=00", now=timezone.now()
        )
