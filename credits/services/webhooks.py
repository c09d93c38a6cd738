"""Stripe webhook events: stored once by id, then handled through a dict by event type."""

from collections.abc import Callable
from datetime import datetime

from django.db import IntegrityError, transaction

from credits.exceptions import CreditsError
from credits.models import PaymentMethod, Purchase, StripeEvent
from credits.services import locks, refunds
from credits.services.purchases import purchase_mark_failed, record_purchase
from credits.stripe_client import expandable_id


def stripe_event_store(*, payload: dict, now: datetime) -> StripeEvent:
    """The raw event, saved before anything is done with it; a repeat returns the first row."""
    existing = StripeEvent.objects.filter(stripe_id=payload["id"]).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return StripeEvent.objects.create(
                stripe_id=payload["id"], type=payload["type"], payload=payload, received_at=now
            )
    except IntegrityError:
        # The same event delivered twice at once: the unique index let one row in.
        return StripeEvent.objects.get(stripe_id=payload["id"])


# The error code of an event whose body is not the shape Stripe sends (signed, but no
# data.object, or an object without the fields its type has); the webhook answers 400.
MALFORMED_EVENT = "malformed_event"


def event_is_malformed(event: StripeEvent) -> bool:
    return event.processed_at is None and event.error.startswith(f"{MALFORMED_EVENT}:")


@transaction.atomic
def stripe_event_process(*, event_id: int, now: datetime) -> StripeEvent:
    """Handle a stored event once. Types we do not handle are marked done and ignored."""
    event = locks.lock_work_row(StripeEvent, pk=event_id)
    if event.processed_at is not None:
        return event
    data = event.payload.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        event.error = f"{MALFORMED_EVENT}: The event has no data.object."
        event.save(update_fields=["error"])
        return event
    handler = HANDLERS.get(event.type)
    try:
        if handler is not None:
            event.purchase = handler(obj, now)
    except (KeyError, TypeError, ValueError) as error:
        # Kept for staff like any failure; a handler met a field missing or of a wrong type.
        event.error = f"{MALFORMED_EVENT}: {type(error).__name__}: {error}"[:2000]
        event.save(update_fields=["error"])
        return event
    except CreditsError as error:
        # Kept for staff in admin; a redelivery of the event tries again.
        event.error = f"{error.code}: {error.message}"
        event.save(update_fields=["error"])
        return event
    event.processed_at = now
    event.error = ""
    event.save(update_fields=["processed_at", "error", "purchase"])
    return event


def _purchase_for_intent(intent: dict) -> Purchase:
    """The purchase an intent pays for: its metadata names it (the intent id may not be
    stored yet when the webhook outruns the request that created the intent)."""
    purchase_id = (intent.get("metadata") or {}).get("purchase_id")
    purchase = None
    if purchase_id and str(purchase_id).isdigit():
        purchase = Purchase.objects.filter(pk=int(purchase_id)).first()
    if purchase is None:
        purchase = Purchase.objects.filter(stripe_payment_intent_id=intent["id"]).first()
    if purchase is None:
        raise CreditsError(f"No purchase for {intent['id']}.", code="purchase_unknown")
    if purchase.stripe_payment_intent_id not in (None, "", intent["id"]):
        # Two intents for one purchase means the customer paid twice: staff refund one.
        raise CreditsError(
            f"{intent['id']} pays for {purchase.receipt_number}, already paid by "
            f"{purchase.stripe_payment_intent_id}; refund one of them.",
            code="duplicate_payment",
        )
    if int(intent["amount"]) != purchase.amount_cents:
        raise CreditsError(f"{intent['id']} amount does not match.", code="amount_mismatch")
    return purchase


def _payment_succeeded(intent: dict, now: datetime) -> Purchase:
    purchase = _purchase_for_intent(intent)
    card = PaymentMethod.objects.filter(stripe_id=expandable_id(intent.get("payment_method"))).first()
    return record_purchase(
        purchase_id=purchase.pk,
        now=now,
        payment_intent_id=intent["id"],
        card_brand=card.brand if card else "",
        card_last4=card.last4 if card else "",
    )


def _payment_failed(intent: dict, now: datetime) -> Purchase:
    # purchase_mark_failed never touches a purchase already granted, so a failure that
    # arrives after the success (out of order, or an earlier attempt) takes nothing back.
    purchase = _purchase_for_intent(intent)
    message = (intent.get("last_payment_error") or {}).get("message") or "The payment failed."
    return purchase_mark_failed(purchase_id=purchase.pk, message=message)


def _charge_refunded(charge: dict, now: datetime) -> Purchase | None:
    # Recorded against the purchase for staff. Taking the credits back is the refund
    # approval's job; a charge refunded in full finishes an approved refund that was still
    # waiting for Stripe (say, refunded from Stripe's dashboard while our call kept failing).
    intent_id = expandable_id(charge.get("payment_intent"))
    purchase = Purchase.objects.filter(stripe_payment_intent_id=intent_id).first() if intent_id else None
    if purchase is not None and int(charge.get("amount_refunded") or 0) >= purchase.amount_cents:
        refunds.refund_settled_at_stripe(purchase_id=purchase.pk, refund_id=_refund_id(charge), now=now)
    return purchase


def _refund_id(charge: dict) -> str:
    """The charge's latest refund, when the event lists its refunds (API versions differ)."""
    listed = charge.get("refunds")
    made = listed.get("data") if isinstance(listed, dict) else None
    return str(made[0].get("id", "")) if isinstance(made, list) and made and isinstance(made[0], dict) else ""


HANDLERS: dict[str, Callable[[dict, datetime], Purchase | None]] = {
    "payment_intent.succeeded": _payment_succeeded,
    "payment_intent.payment_failed": _payment_failed,
    "charge.refunded": _charge_refunded,
}
