"""Paying for a purchase with a saved card: one PaymentIntent per purchase, credits once paid.

The order of steps is the guarantee against double charges and lost payments:
1. the pending Purchase row is committed, keyed by the form's one-time token;
2. a PaymentAttempt row (unique per purchase) is inserted: only its inserter calls Stripe;
3. the PaymentIntent is created and confirmed with the purchase key as idempotency key and
   the purchase id in its metadata (so the webhook finds the purchase even before step 4);
4. the intent id is stored, and credits are granted if Stripe says `succeeded`.
Steps 1-3 cannot share one transaction: the rows must exist, committed, before Stripe is
asked, so these functions are not `atomic` themselves; each write below is.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from accounts.models import Organization
from credits import stripe_client
from credits.exceptions import (
    AuthenticationRequired,
    CardDeclined,
    PaymentError,
    RefundPolicyNotAccepted,
    StripeRequestRejected,
)
from credits.models import (
    BillingPolicy,
    PaymentAttempt,
    PaymentMethod,
    Purchase,
    PurchaseStatus,
)
from credits.services import locks
from credits.services.purchases import purchase_create, purchase_mark_failed, record_purchase
from credits.stripe_client import Outcome


@dataclass(frozen=True)
class ChargeOutcome:
    """What an off-session charge (auto-recharge, overage) came to."""

    status: Outcome
    intent_id: str = ""
    message: str = ""
    card_brand: str = ""
    card_last4: str = ""


@dataclass(frozen=True)
class CheckoutResult:
    purchase: Purchase
    outcome: Outcome
    client_secret: str = ""


def checkout_key(*, organization: Organization, token: str) -> str:
    return f"checkout:{organization.pk}:{token}"


def purchase_pay(
    *,
    organization: Organization,
    user,
    amount_cents: int,
    payment_method_id: int,
    token: str,
    refund_policy_accepted: bool,
    now: datetime,
) -> CheckoutResult:
    """Buy credits with a saved card. The same token never charges twice."""
    if not refund_policy_accepted:
        raise RefundPolicyNotAccepted("Please accept the refund policy to buy credits.")
    card = PaymentMethod.objects.select_related("customer").get(
        pk=payment_method_id, customer__organization=organization
    )
    purchase = purchase_create(
        organization=organization,
        amount_cents=amount_cents,
        key=checkout_key(organization=organization, token=token),
        created_by=user,
        refund_policy_version=BillingPolicy.current().refund_policy_version,
        refund_policy_accepted_at=now,
        now=now,
    )
    if not _attempt_claim(purchase=purchase, card=card, now=now):
        # A second submit of the same form: report what the first one got.
        return purchase_confirm(organization=organization, purchase_id=purchase.pk, now=now)
    try:
        intent = stripe_client.payment_intent_create_and_confirm(
            customer=card.customer.stripe_id,
            payment_method=card.stripe_id,
            amount_cents=purchase.amount_cents,
            idempotency_key=f"purchase-{purchase.key}",
            metadata={"purchase_id": str(purchase.pk), "organization_id": str(organization.pk)},
        )
    except PaymentError as error:
        _attempt_failed(purchase=purchase, error=error)
        raise
    return _intent_apply(purchase=purchase, intent=intent, card=card, now=now)


def purchase_confirm(*, organization: Organization, purchase_id: int, now: datetime) -> CheckoutResult:
    """Where the page comes back after 3-D Secure: ask Stripe, never the browser, how it went."""
    purchase = Purchase.objects.get(pk=purchase_id, organization=organization)
    if purchase.granted_at is not None:
        return CheckoutResult(purchase=purchase, outcome=Outcome.SUCCEEDED)
    if purchase.status == PurchaseStatus.FAILED:
        raise CardDeclined(purchase.failure_message or stripe_client.DECLINED_MESSAGE)
    if not purchase.stripe_payment_intent_id:
        return CheckoutResult(purchase=purchase, outcome=Outcome.PROCESSING)
    intent = stripe_client.payment_intent_retrieve(payment_intent_id=purchase.stripe_payment_intent_id)
    card = PaymentMethod.objects.filter(stripe_id=intent.payment_method).first()
    return _intent_apply(purchase=purchase, intent=intent, card=card, now=now)


def _attempt_claim(*, purchase: Purchase, card: PaymentMethod, now: datetime) -> bool:
    if purchase.granted_at is not None or purchase.status == PurchaseStatus.FAILED:
        return False
    try:
        with transaction.atomic():
            PaymentAttempt.objects.create(purchase=purchase, payment_method=card, created_at=now)
    except IntegrityError:
        return False
    return True


def _attempt_failed(*, purchase: Purchase, error: PaymentError) -> None:
    if error.retryable:
        # Stripe was not reached (or not sure): free the claim so sending the same form
        # again retries with the same idempotency key, which Stripe answers with the
        # intent it may already have made. The webhook grants it either way.
        PaymentAttempt.objects.filter(purchase=purchase).delete()
    else:
        purchase_mark_failed(purchase_id=purchase.pk, message=error.message)


def _intent_apply(
    *,
    purchase: Purchase,
    intent: stripe_client.PaymentIntent,
    card: PaymentMethod | None,
    now: datetime,
) -> CheckoutResult:
    if intent.metadata.get("purchase_id") != str(purchase.pk) or (
        intent.amount_cents != purchase.amount_cents
    ):
        raise PaymentError("This payment does not match the purchase.", code="intent_mismatch")
    _intent_store(purchase_id=purchase.pk, intent=intent)
    if intent.outcome == Outcome.SUCCEEDED:
        purchase = record_purchase(
            purchase_id=purchase.pk,
            now=now,
            payment_intent_id=intent.id,
            card_brand=card.brand if card else "",
            card_last4=card.last4 if card else "",
        )
        return CheckoutResult(purchase=purchase, outcome=Outcome.SUCCEEDED)
    if intent.outcome == Outcome.REQUIRES_ACTION:
        purchase.refresh_from_db()
        return CheckoutResult(
            purchase=purchase, outcome=Outcome.REQUIRES_ACTION, client_secret=intent.client_secret
        )
    if intent.outcome == Outcome.FAILED:
        message = intent.error_message or "The payment did not go through."
        purchase_mark_failed(purchase_id=purchase.pk, message=message)
        raise CardDeclined(message)
    purchase.refresh_from_db()
    return CheckoutResult(purchase=purchase, outcome=Outcome.PROCESSING)


@transaction.atomic
def _intent_store(*, purchase_id: int, intent: stripe_client.PaymentIntent) -> None:
    _, purchase = locks.lock_purchase(purchase_id=purchase_id)
    if purchase.granted_at is not None:
        return
    fields = []
    if not purchase.stripe_payment_intent_id:
        purchase.stripe_payment_intent_id = intent.id
        fields.append("stripe_payment_intent_id")
    if intent.outcome == Outcome.REQUIRES_ACTION and purchase.status == PurchaseStatus.PENDING:
        purchase.status = PurchaseStatus.REQUIRES_ACTION
        fields.append("status")
    if fields:
        purchase.save(update_fields=fields)


# Auto-recharge (credits/services/recharge_jobs.py) charges through these two: it owns the
# purchase rows, the claim on each charge and the grant; this module owns talking to Stripe.


def charge_saved_card_off_session(
    *,
    organization: Organization,
    amount_cents: int,
    payment_method_id: str,
    idempotency_key: str,
    purchase_id: int | None = None,
) -> ChargeOutcome:
    """Charge a saved card (by Stripe id; empty means the default card) with nobody present."""
    cards = PaymentMethod.objects.filter(customer__organization=organization)
    card = (
        (cards.filter(stripe_id=payment_method_id) if payment_method_id else cards.filter(is_default=True))
        .select_related("customer")
        .first()
    )
    if card is None:
        return ChargeOutcome(
            status=Outcome.FAILED,
            message="There is no saved card to charge. Add one under Payment methods.",
        )
    metadata = {"organization_id": str(organization.pk)}
    if purchase_id is not None:
        metadata["purchase_id"] = str(purchase_id)
    try:
        intent = stripe_client.payment_intent_create_and_confirm(
            customer=card.customer.stripe_id,
            payment_method=card.stripe_id,
            amount_cents=amount_cents,
            idempotency_key=idempotency_key,
            off_session=True,
            metadata=metadata,
        )
    except AuthenticationRequired as error:
        return ChargeOutcome(
            status=Outcome.REQUIRES_ACTION, intent_id=error.payment_intent_id, message=error.message
        )
    except CardDeclined as error:
        return ChargeOutcome(status=Outcome.FAILED, message=error.message)
    return _outcome(intent, card)


def payment_intent_outcome(*, intent_id: str) -> ChargeOutcome:
    """What Stripe now says of an intent created earlier (after a crash, or 3-D Secure)."""
    return _intent_outcome(stripe_client.payment_intent_retrieve(payment_intent_id=intent_id))


def payment_intent_cancel_if_open(*, intent_id: str) -> ChargeOutcome:
    """Before a charge is tried again as a new intent, its earlier intent is cancelled if it
    could still be paid (a page left open for 3-D Secure), so that both can never be paid.
    Returns what Stripe then says of it: one that moved on meanwhile (paid, still processing
    at the bank) is left as it is, and the caller takes that answer instead of charging."""
    intent = stripe_client.payment_intent_retrieve(payment_intent_id=intent_id)
    if intent.status in stripe_client.CANCELABLE_INTENT_STATUSES:
        try:
            intent = stripe_client.payment_intent_cancel(payment_intent_id=intent_id)
        except StripeRequestRejected:
            # No longer cancelable: the customer finished between the two calls.
            intent = stripe_client.payment_intent_retrieve(payment_intent_id=intent_id)
    return _intent_outcome(intent)


def _intent_outcome(intent: stripe_client.PaymentIntent) -> ChargeOutcome:
    """An intent's outcome with the saved card it was paid with, when it is one of ours."""
    return _outcome(intent, PaymentMethod.objects.filter(stripe_id=intent.payment_method).first())


def _outcome(intent: stripe_client.PaymentIntent, card: PaymentMethod | None) -> ChargeOutcome:
    return ChargeOutcome(
        status=intent.outcome,
        intent_id=intent.id,
        message=intent.error_message if intent.outcome == Outcome.FAILED else "",
        card_brand=card.brand if card else "",
        card_last4=card.last4 if card else "",
    )
