"""Refunds: eligible only while an organization has never used the API."""

from datetime import datetime

from django.db import transaction

from accounts.models import Organization
from accounts.services import audit_record
from credits.exceptions import CreditsError
from credits.models import (
    Purchase,
    RefundRequest,
    RefundStatus,
)
from credits.selectors.refunds import purchases_refundability
from credits.selectors.usage import has_usage_history
from credits.services.ledger import lock_account
from credits.services.notifications import BILLING_ROLES, notify_organization
from credits.services.purchases import reverse_purchase


@transaction.atomic
def refund_request(
    *, organization: Organization, purchase_id: int, reason: str, user, now: datetime
) -> RefundRequest:
    purchase = (
        Purchase.objects.select_for_update().filter(organization=organization, pk=purchase_id).first()
    )
    if purchase is None:
        raise CreditsError("No such purchase.", code="not_found")
    if not reason.strip():
        raise CreditsError("Tell us why you want a refund.", code="reason_required")
    row = next(
        r for r in purchases_refundability(organization=organization) if r.purchase.pk == purchase.pk
    )
    if not row.refundable:
        raise CreditsError(row.why, code="not_refundable")
    request = RefundRequest(
        organization=organization,
        purchase=purchase,
        reason=reason.strip(),
        requested_by=user,
        requested_at=now,
    )
    request.full_clean(validate_constraints=False)
    request.save()
    return request


def refund_payment(*, payment_intent_id: str, amount_cents: int, idempotency_key: str) -> str:
    """Refund at Stripe; returns the refund id. The one seam tests replace."""
    from credits import stripe_client

    return stripe_client.refund_create(
        payment_intent_id=payment_intent_id,
        amount_cents=amount_cents,
        idempotency_key=idempotency_key,
    )


def refund_approve(*, request_id: int, staff, now: datetime) -> RefundRequest:
    """Refund through Stripe, then reverse the purchase's lots. Safe to run twice.

    One transaction holds the organization's account lock from the usage check to the
    reversal: usage is debited under the same lock, so no batch can land after the check
    and be served free by a refund of the whole payment. A crash after Stripe refunded rolls
    the reversal back; the stable idempotency key (refund-<id>, also looked up at Stripe
    before creating) makes the retry find that refund instead of refunding twice. A Stripe
    failure leaves the request approved-but-unpaid with the error, nothing reversed."""
    organization_id = RefundRequest.objects.values_list("organization_id", flat=True).get(pk=request_id)
    with transaction.atomic():
        # Lock order everywhere: the account first, then the request and its purchase.
        lock_account(organization=Organization(pk=organization_id))
        request = RefundRequest.objects.select_for_update().select_related("purchase").get(pk=request_id)
        if request.status == RefundStatus.REFUNDED:
            return request
        if request.status == RefundStatus.REJECTED:
            raise CreditsError("This request was rejected.", code="already_rejected")
        if has_usage_history(organization=request.organization):
            raise CreditsError(
                "The organization has used the API since asking, so the purchase is no "
                "longer refundable.",
                code="ineligible",
            )
        request.reviewed_by, request.reviewed_at = staff, now
        refund_id = request.stripe_refund_id
        if not refund_id:
            try:
                refund_id = refund_payment(
                    payment_intent_id=request.purchase.stripe_payment_intent_id or "",
                    amount_cents=request.purchase.amount_cents,
                    idempotency_key=f"refund-{request.pk}",
                )
            except CreditsError as error:
                request.status = RefundStatus.APPROVED_UNPAID
                request.last_error = error.message[:500]
                request.save(update_fields=["reviewed_by", "reviewed_at", "status", "last_error"])
                return request
        request.stripe_refund_id = refund_id
        reverse_purchase(purchase_id=request.purchase_id, now=now, created_by=staff)
        request.status = RefundStatus.REFUNDED
        request.last_error = ""
        request.save()
        audit_record(
            actor=staff,
            action="refund_approve",
            obj=request,
            after={"status": request.status, "stripe_refund_id": refund_id},
            organization=request.organization,
            now=now,
        )
        _tell_customer(request, "Your refund was approved", "credits/email/refund_approved.txt")
    return request


@transaction.atomic
def refund_reject(*, request_id: int, staff, note: str, now: datetime) -> RefundRequest:
    if not note.strip():
        raise CreditsError("Give the customer a reason.", code="reason_required")
    request = RefundRequest.objects.select_for_update().get(pk=request_id)
    if request.status not in (RefundStatus.PENDING, RefundStatus.APPROVED_UNPAID):
        raise CreditsError("Only an open request can be rejected.", code="not_open")
    before = {"status": request.status}
    request.status = RefundStatus.REJECTED
    request.decision_note = note.strip()[:500]
    request.reviewed_by, request.reviewed_at = staff, now
    request.save()
    audit_record(
        actor=staff,
        action="refund_reject",
        obj=request,
        before=before,
        after={"status": request.status},
        organization=request.organization,
        note=request.decision_note,
        now=now,
    )
    _tell_customer(request, "Your refund request was declined", "credits/email/refund_rejected.txt")
    return request


def _tell_customer(request: RefundRequest, subject: str, template: str) -> None:
    notify_organization(
        organization=request.organization,
        subject=subject,
        template=template,
        context={"request": request, "purchase": request.purchase},
        roles=BILLING_ROLES,
    )
