"""The one wrapper around the Stripe SDK: every call to Stripe (or localstripe) goes through here.

Callers get small frozen dataclasses, never SDK objects, and domain exceptions with a code,
never `stripe.*Error`; unit tests patch the functions of this module and nothing else.

localstripe (the offline default) is strict about parameters, so only what both it and Stripe
accept is sent: no `description`, no `automatic_payment_methods`, no refund `reason`.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

import stripe
from django.conf import settings
from stripe._base_address import BaseAddresses
from stripe.params import PaymentIntentCreateParams, SetupIntentCreateParams

# The SDK's request TypedDicts (v16) list only `allowed_payment_method_types`; the API still takes
# `payment_method_types`, which localstripe needs (see payment_intent_create). Hence the casts.
from credits.exceptions import (
    AuthenticationRequired,
    CardDeclined,
    PaymentError,
    PaymentProviderUnavailable,
    StripeRequestRejected,
    WebhookSignatureInvalid,
)

CURRENCY = "usd"
DECLINED_MESSAGE = "Your card was declined."
# Stripe's own text for a failed 3-D Secure ("The provided PaymentMethod has failed
# authentication...") is written for developers; customers get what happened and what to do.
AUTHENTICATION_FAILED_MESSAGE = (
    "Your bank did not confirm this payment, so nothing was charged. "
    "Pay again and complete your bank's check, or choose another card."
)
AUTHENTICATION_FAILED_CODE = "payment_intent_authentication_failure"


@dataclass(frozen=True)
class Card:
    id: str
    customer: str | None
    brand: str
    last4: str
    exp_month: int
    exp_year: int


@dataclass(frozen=True)
class SetupIntent:
    id: str
    status: str
    client_secret: str
    customer: str | None
    payment_method: str | None
    error_message: str = ""


class Outcome(StrEnum):
    """What a payment came to, in the product's words: checkout, auto-recharge and overage
    all decide on these four, and `of_intent_status` is the one reading of Stripe's statuses."""

    SUCCEEDED = "succeeded"
    # The bank wants 3-D Secure: the page finishes it with Stripe.js, then asks us again.
    REQUIRES_ACTION = "requires_action"
    # Declined, or the intent was canceled: nothing was charged.
    FAILED = "failed"
    # Stripe has not answered for good yet (or another request is charging this purchase).
    PROCESSING = "processing"

    @classmethod
    def of_intent_status(cls, status: str) -> "Outcome":
        return {
            "succeeded": cls.SUCCEEDED,
            "requires_action": cls.REQUIRES_ACTION,
            "requires_payment_method": cls.FAILED,
            "canceled": cls.FAILED,
        }.get(status, cls.PROCESSING)


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    # Stripe's own word; code decides on `outcome`.
    status: str
    client_secret: str
    amount_cents: int
    currency: str
    customer: str | None
    payment_method: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    # The bank's or Stripe's words for the last failed attempt, if any.
    error_message: str = ""

    @property
    def outcome(self) -> Outcome:
        return Outcome.of_intent_status(self.status)


def browser_context() -> dict[str, str]:
    """What a page that loads Stripe.js passes to static/js through data- attributes."""
    return {
        "stripe_js_url": settings.STRIPE_JS_URL,
        "stripe_publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
    }


def _client() -> stripe.StripeClient:
    # Built per call from settings so tests (and `make run`) can point it at localstripe.
    base: BaseAddresses | None = {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses=base, max_network_retries=2
    )


@contextmanager
def _stripe_errors() -> Iterator[None]:
    """Stripe's exceptions as ours."""
    try:
        yield
    except stripe.CardError as error:
        message = error.user_message or DECLINED_MESSAGE
        if error.code == "authentication_required":
            intent = getattr(error.error, "payment_intent", None) if error.error else None
            intent_id = (intent or {}).get("id", "") if isinstance(intent, dict) else ""
            raise AuthenticationRequired(message, payment_intent_id=intent_id) from error
        raise CardDeclined(message) from error
    except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as error:
        raise PaymentProviderUnavailable(
            "We could not reach our payment provider. Nothing was charged; please try again."
        ) from error
    except (
        stripe.InvalidRequestError,
        stripe.IdempotencyError,
        stripe.AuthenticationError,
        stripe.PermissionError,
    ) as error:
        raise StripeRequestRejected(
            error.user_message or "The payment provider refused the request."
        ) from error
    except stripe.StripeError as error:
        raise PaymentError(error.user_message or "The payment did not go through.") from error


def expandable_id(value) -> str | None:
    """The id of an expandable field: Stripe sends an id, localstripe sometimes the whole
    object. Used here and by the webhook handlers (one home)."""
    if value is None or isinstance(value, str):
        return value
    return value.get("id")


def _plain(obj) -> dict:
    # SDK objects are not dicts (no .get); their plain form is.
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


def _card(obj) -> Card:
    obj = _plain(obj)
    card = obj["card"]
    return Card(
        id=obj["id"],
        customer=expandable_id(obj.get("customer")),
        brand=card["brand"],
        last4=card["last4"],
        exp_month=int(card["exp_month"]),
        exp_year=int(card["exp_year"]),
    )


def _error_message(obj, key: str) -> str:
    error = obj.get(key) or {}
    if error.get("code") == AUTHENTICATION_FAILED_CODE:
        return AUTHENTICATION_FAILED_MESSAGE
    return error.get("message") or ""


def _setup_intent(obj) -> SetupIntent:
    obj = _plain(obj)
    return SetupIntent(
        id=obj["id"],
        status=obj["status"],
        client_secret=obj["client_secret"],
        customer=expandable_id(obj.get("customer")),
        payment_method=expandable_id(obj.get("payment_method")),
        error_message=_error_message(obj, "last_setup_error"),
    )


def _payment_intent(obj) -> PaymentIntent:
    obj = _plain(obj)
    return PaymentIntent(
        id=obj["id"],
        status=obj["status"],
        client_secret=obj["client_secret"],
        amount_cents=int(obj["amount"]),
        currency=obj["currency"],
        customer=expandable_id(obj.get("customer")),
        payment_method=expandable_id(obj.get("payment_method")),
        metadata=dict(obj.get("metadata") or {}),
        error_message=_error_message(obj, "last_payment_error"),
    )


def customer_create(*, name: str, organization_id: int, idempotency_key: str) -> str:
    with _stripe_errors():
        customer = _client().v1.customers.create(
            params={"name": name, "metadata": {"organization_id": str(organization_id)}},
            options={"idempotency_key": idempotency_key},
        )
    return customer.id


def customer_set_default_payment_method(*, customer: str, payment_method: str) -> None:
    # Only for people looking at the Stripe dashboard: our charges name the card explicitly.
    with _stripe_errors():
        _client().v1.customers.update(
            customer, params={"invoice_settings": {"default_payment_method": payment_method}}
        )


def setup_intent_create(*, customer: str) -> SetupIntent:
    with _stripe_errors():
        params = {"customer": customer, "usage": "off_session", "payment_method_types": ["card"]}
        intent = _client().v1.setup_intents.create(params=cast(SetupIntentCreateParams, params))
    return _setup_intent(intent)


def setup_intent_retrieve(*, setup_intent_id: str) -> SetupIntent:
    with _stripe_errors():
        return _setup_intent(_client().v1.setup_intents.retrieve(setup_intent_id))


def payment_method_retrieve(*, payment_method_id: str) -> Card:
    with _stripe_errors():
        return _card(_client().v1.payment_methods.retrieve(payment_method_id))


def payment_method_attach(*, payment_method_id: str, customer: str) -> Card:
    with _stripe_errors():
        return _card(
            _client().v1.payment_methods.attach(payment_method_id, params={"customer": customer})
        )


def payment_method_detach(*, payment_method_id: str) -> Card:
    with _stripe_errors():
        return _card(_client().v1.payment_methods.detach(payment_method_id))


def payment_method_list(*, customer: str) -> list[Card]:
    with _stripe_errors():
        cards = _client().v1.payment_methods.list(
            params={"customer": customer, "type": "card", "limit": 100}
        )
    return [_card(card) for card in cards.data]


def payment_intent_create_and_confirm(
    *,
    customer: str,
    payment_method: str,
    amount_cents: int,
    idempotency_key: str,
    off_session: bool = False,
    metadata: dict[str, str] | None = None,
) -> PaymentIntent:
    """Charge a saved card now. A decline raises CardDeclined with the bank's message.

    On-session, a card that needs 3-D Secure comes back as `requires_action` for the page to
    finish with Stripe.js. Off-session there is nobody to ask: Stripe raises
    `authentication_required` while localstripe answers `requires_action`; both become
    AuthenticationRequired.
    """
    params: dict[str, Any] = {
        "amount": amount_cents,
        "currency": CURRENCY,
        "customer": customer,
        "payment_method": payment_method,
        "confirm": True,
        # Naming the type keeps Stripe from asking for a return_url (automatic payment
        # methods would), and localstripe knows no other way.
        "payment_method_types": ["card"],
        "metadata": metadata or {},
    }
    if off_session:
        params["off_session"] = True
    with _stripe_errors():
        intent = _payment_intent(
            _client().v1.payment_intents.create(
                params=cast(PaymentIntentCreateParams, params), options={"idempotency_key": idempotency_key}
            )
        )
    if off_session and intent.outcome == Outcome.REQUIRES_ACTION:
        raise AuthenticationRequired(
            "Your bank asks you to confirm this payment.", payment_intent_id=intent.id
        )
    return intent


def payment_intent_retrieve(*, payment_intent_id: str) -> PaymentIntent:
    with _stripe_errors():
        return _payment_intent(_client().v1.payment_intents.retrieve(payment_intent_id))


# An intent in one of these can still be paid (a page confirms it, the customer finishes
# 3-D Secure, a new card is attached); cancelling it stops that.
CANCELABLE_INTENT_STATUSES = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"}
)


def payment_intent_cancel(*, payment_intent_id: str) -> PaymentIntent:
    """Cancel an intent (only one in CANCELABLE_INTENT_STATUSES; Stripe refuses the rest)."""
    with _stripe_errors():
        return _payment_intent(_client().v1.payment_intents.cancel(payment_intent_id))


def refund_create(*, payment_intent_id: str, amount_cents: int, idempotency_key: str) -> str:
    """Refund (part of) a payment once per key; returns the refund id.

    localstripe ignores idempotency keys and accepts refunds past the amount paid, and a
    crash can fall between Stripe's answer and our commit; so the key also travels in the
    refund's metadata and an existing refund with it is returned instead of a new one."""
    with _stripe_errors():
        existing = _client().v1.refunds.list(
            params={"payment_intent": payment_intent_id, "limit": 100}
        )
        for refund in existing.data:
            metadata = refund.metadata.to_dict() if refund.metadata else {}
            if metadata.get("idempotency_key") == idempotency_key:
                return refund.id
        refund = _client().v1.refunds.create(
            params={
                "payment_intent": payment_intent_id,
                "amount": amount_cents,
                "metadata": {"idempotency_key": idempotency_key},
            },
            options={"idempotency_key": idempotency_key},
        )
    return refund.id


# Stripe refuses signatures older than five minutes (replays); one dated more than five
# minutes ahead is as suspect (a forged or replayable timestamp), so it is refused too.
WEBHOOK_TOLERANCE_SECONDS = 300


def _signature_timestamp(signature: str) -> int | None:
    for item in signature.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            return int(value) if value.isascii() and value.isdigit() and len(value) < 16 else None
    return None


def webhook_construct_event(*, payload: bytes, signature: str, now: datetime) -> dict:
    """The event as a dict, once its `Stripe-Signature` header proved it came from Stripe."""
    try:
        stripe.WebhookSignature.verify_header(
            payload, signature, settings.STRIPE_WEBHOOK_SECRET, tolerance=WEBHOOK_TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except stripe.SignatureVerificationError as error:
        raise WebhookSignatureInvalid("The webhook signature does not match.") from error
    except (ValueError, RecursionError) as error:
        raise WebhookSignatureInvalid("The webhook body is not JSON.") from error
    signed_at = _signature_timestamp(signature)
    if signed_at is None or signed_at > now.timestamp() + WEBHOOK_TOLERANCE_SECONDS:
        raise WebhookSignatureInvalid("The webhook signature is dated in the future.")
    if not isinstance(event, dict) or not {"id", "type", "data"} <= event.keys():
        raise WebhookSignatureInvalid("The webhook body is not a Stripe event.")
    if not all(isinstance(event[key], str) and 0 < len(event[key]) <= 100 for key in ("id", "type")):
        raise WebhookSignatureInvalid("The webhook event has no valid id or type.")
    return event
