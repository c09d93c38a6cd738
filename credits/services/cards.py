"""Saved cards: the organization's Stripe customer, adding cards by SetupIntent, default, removal."""

from datetime import datetime

from django.db import IntegrityError, transaction

from accounts.models import Organization
from accounts.services import audit_record
from credits import stripe_client
from credits.exceptions import CardRemovalRefused, CardSetupFailed
from credits.models import (
    AutoRecharge,
    PaymentContactRequest,
    PaymentMethod,
    RechargeStatus,
    StripeCustomer,
)


def auto_recharge_needs_card(*, card: PaymentMethod) -> bool:
    """Whether removing this card leaves a running auto-recharge plan nothing to charge.

    A plan names a card, or charges the default card when it names none; a paused plan
    counts as running since it resumes on the same card."""
    plan = (
        AutoRecharge.objects.filter(organization_id=card.customer.organization_id)
        .exclude(status=RechargeStatus.TERMINATED)
        .first()
    )
    if plan is None:
        return False
    if plan.payment_method_id:
        return plan.payment_method_id == card.stripe_id
    return not card.customer.payment_methods.exclude(pk=card.pk).exists()


def stripe_customer_get_or_create(*, organization: Organization, now: datetime) -> StripeCustomer:
    """The organization's Stripe customer, created on first need."""
    existing = StripeCustomer.objects.filter(organization=organization).first()
    if existing is not None:
        return existing
    # The Stripe call comes first and carries a key per organization, so two first requests
    # at once get the same customer from Stripe; the unique row below keeps one of them.
    stripe_id = stripe_client.customer_create(
        name=organization.name,
        organization_id=organization.pk,
        idempotency_key=f"customer-for-organization-{organization.pk}",
    )
    try:
        with transaction.atomic():
            return StripeCustomer.objects.create(
                organization=organization, stripe_id=stripe_id, created_at=now
            )
    except IntegrityError:
        return StripeCustomer.objects.get(organization=organization)


def card_setup_start(*, organization: Organization, now: datetime) -> str:
    """A SetupIntent for the card element; returns its client secret for Stripe.js."""
    customer = stripe_customer_get_or_create(organization=organization, now=now)
    return stripe_client.setup_intent_create(customer=customer.stripe_id).client_secret


def card_setup_finish(
    *, organization: Organization, setup_intent_id: str, now: datetime
) -> PaymentMethod:
    """Save the card of a SetupIntent the page confirmed; the browser's word is checked."""
    customer = StripeCustomer.objects.filter(organization=organization).first()
    intent = stripe_client.setup_intent_retrieve(setup_intent_id=setup_intent_id)
    if customer is None or intent.customer != customer.stripe_id:
        raise CardSetupFailed("This card setup belongs to another account.", code="setup_foreign")
    if intent.status != "succeeded" or not intent.payment_method:
        raise CardSetupFailed(
            intent.error_message or "The card was not confirmed. Please enter it again.",
            code="setup_incomplete",
        )
    card = stripe_client.payment_method_retrieve(payment_method_id=intent.payment_method)
    if card.customer is None:
        # Stripe attaches the card when the SetupIntent succeeds; localstripe does not.
        card = stripe_client.payment_method_attach(
            payment_method_id=card.id, customer=customer.stripe_id
        )
    elif card.customer != customer.stripe_id:
        raise CardSetupFailed("This card belongs to another account.", code="setup_foreign")
    return _card_save(customer=customer, card=card, now=now)


@transaction.atomic
def _card_save(*, customer: StripeCustomer, card: stripe_client.Card, now: datetime) -> PaymentMethod:
    # The customer row lock serializes card changes of one organization (first card = default).
    StripeCustomer.objects.select_for_update().get(pk=customer.pk)
    existing = PaymentMethod.objects.filter(stripe_id=card.id).first()
    if existing is not None:
        return existing
    saved = PaymentMethod(
        customer=customer,
        stripe_id=card.id,
        brand=card.brand,
        last4=card.last4,
        exp_month=card.exp_month,
        exp_year=card.exp_year,
        is_default=not customer.payment_methods.filter(is_default=True).exists(),
        created_at=now,
    )
    saved.full_clean()
    saved.save()
    return saved


def _card_of(organization: Organization, payment_method_id: int) -> PaymentMethod:
    return PaymentMethod.objects.select_related("customer").get(
        pk=payment_method_id, customer__organization=organization
    )


def card_make_default(*, organization: Organization, payment_method_id: int) -> PaymentMethod:
    card = _card_of(organization, payment_method_id)
    stripe_client.customer_set_default_payment_method(
        customer=card.customer.stripe_id, payment_method=card.stripe_id
    )
    return _default_set(card=card)


@transaction.atomic
def _default_set(*, card: PaymentMethod) -> PaymentMethod:
    StripeCustomer.objects.select_for_update().get(pk=card.customer_id)
    # Clear first: the partial unique index allows one default at any moment.
    card.customer.payment_methods.filter(is_default=True).exclude(pk=card.pk).update(
        is_default=False
    )
    PaymentMethod.objects.filter(pk=card.pk).update(is_default=True)
    card.refresh_from_db()
    return card


def card_remove(*, organization: Organization, payment_method_id: int) -> None:
    """Detach a card at Stripe and forget it; the newest other card becomes the default."""
    card = _card_of(organization, payment_method_id)
    _refuse_removing_last_needed_card(card=card)
    stripe_client.payment_method_detach(payment_method_id=card.stripe_id)
    _card_delete(card=card)


def _refuse_removing_last_needed_card(*, card: PaymentMethod) -> None:
    if auto_recharge_needs_card(card=card):
        raise CardRemovalRefused(
            "Auto-recharge charges this card. Add another card (or choose it for "
            "auto-recharge), or terminate auto-recharge, before removing it.",
            code="card_needed_by_auto_recharge",
        )


@transaction.atomic
def _card_delete(*, card: PaymentMethod) -> None:
    StripeCustomer.objects.select_for_update().get(pk=card.customer_id)
    was_default = PaymentMethod.objects.filter(pk=card.pk, is_default=True).exists()
    PaymentMethod.objects.filter(pk=card.pk).delete()
    if was_default:
        newest = card.customer.payment_methods.order_by("-created_at", "-pk").first()
        if newest is not None:
            PaymentMethod.objects.filter(pk=newest.pk).update(is_default=True)


@transaction.atomic
def payment_contact_request_create(
    *, organization: Organization, requested_by, method: str, message: str, now: datetime
) -> PaymentContactRequest:
    """Ask staff for another way to pay (bank transfer, invoice); they see it in admin."""
    request = PaymentContactRequest(
        organization=organization,
        requested_by=requested_by,
        method=method,
        message=message.strip(),
        created_at=now,
    )
    request.full_clean()
    request.save()
    return request


@transaction.atomic
def payment_contact_mark_handled(*, request_ids: list[int], staff, now: datetime) -> int:
    """Staff answered these requests; each one marked is audited. Returns how many were open."""
    open_requests = (
        PaymentContactRequest.objects.select_for_update()
        .filter(pk__in=request_ids, handled_at__isnull=True)
        .select_related("organization")
        .order_by("pk")
    )
    count = 0
    for contact in open_requests:
        contact.handled_at = now
        contact.handled_by = staff
        contact.save(update_fields=["handled_at", "handled_by"])
        audit_record(
            actor=staff,
            action="payment_contact_handled",
            obj=contact,
            after={"handled_at": now.isoformat()},
            organization=contact.organization,
            now=now,
        )
        count += 1
    return count
