"""Refunds: eligible only while an organization has never used the API."""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from accounts.models import Organization
from accounts.services import audit_record
from credits import stripe_client
from credits.exceptions import CreditsError
from credits.models import (
    Purchase,
    RefundRequest,
    RefundStatus,
)
from credits.selectors.refunds import purchases_refundability
from credits.selectors.usage import has_usage_history
from credits.services import locks
from credits.services.notifications import BILLING_ROLES, notify_organization
from credits.services.purchases import purchase_mark_refunded, reverse_purchase

logger = logging.getLogger(__name__)


@transaction.atomic
def refund_request(
    *, organization: Organization, purchase_id: int, reason: str, user, now: datetime
) -> RefundRequest:
    if not Purchase.objects.filter(organization=organization, pk=purchase_id).exists():
        raise CreditsError("No such purchase.", code="not_found")
    # Two requests for one purchase serialize here (the second finds the first open).
    _, purchase = locks.lock_purchase(purchase_id=purchase_id)
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


def refund_approve(*, request_id: int, staff, now: datetime) -> RefundRequest:
    """Approve a refund: take the purchase's credits back, then refund the card. Safe to run
    twice, and no lock that usage needs is held while Stripe is asked.

    1. The claim (one transaction; the request, then the account and the purchase, the
       order of credits/services/locks.py): the usage check and the reversal of the
       purchase's lots, under the account lock that every usage debit takes. Usage that
       lands before makes the purchase ineligible; usage that lands after is debited from
       other credit or owed, never from the refunded purchase. The request is then
       APPROVED_UNPAID: approved, the money not yet returned.
    2. The Stripe refund, holding only the request's row lock (so a second approval waits
       and then finds it paid), with the stable key refund-<id> (also looked up at Stripe
       before creating), and the request marked REFUNDED in the same transaction.
    A crash or a Stripe failure after the claim leaves the request APPROVED_UNPAID with the
    credits already taken back and the error kept: approving it again retries step 2, and
    the key makes the retry find a refund Stripe already made instead of refunding twice."""
    _claim_refund(request_id=request_id, staff=staff, now=now)
    with transaction.atomic():
        request = locks.lock_work_row(RefundRequest, pk=request_id, related=("organization", "purchase"))
        if request.status != RefundStatus.APPROVED_UNPAID:
            return request
        try:
            refund_id = stripe_client.refund_create(
                payment_intent_id=request.purchase.stripe_payment_intent_id or "",
                amount_cents=request.purchase.amount_cents,
                idempotency_key=f"refund-{request.pk}",
            )
        except CreditsError as error:
            request.last_error = error.message[:500]
            request.last_attempt_at = now
            request.save(update_fields=["last_error", "last_attempt_at"])
            return request
        _refund_paid(request, refund_id=refund_id, staff=staff, now=now)
    return request


def _refund_paid(request: RefundRequest, *, refund_id: str, staff, now: datetime) -> None:
    """Stripe refunded the card: the request (locked by the caller) and its purchase say so."""
    purchase_mark_refunded(purchase_id=request.purchase_id)
    request.stripe_refund_id = refund_id
    request.status = RefundStatus.REFUNDED
    request.last_error = ""
    request.save(update_fields=["stripe_refund_id", "status", "last_error"])
    audit_record(
        actor=staff,
        action="refund_paid",
        obj=request,
        after={"status": request.status, "stripe_refund_id": refund_id},
        organization=request.organization,
        now=now,
    )
    _tell_customer(request, "Your refund was approved", "credits/email/refund_approved.txt")


def refund_settled_at_stripe(*, purchase_id: int, refund_id: str, now: datetime) -> None:
    """Stripe says the purchase's charge is refunded in full (Stripe's charge.refunded: our
    refund, or one made in Stripe's dashboard while ours kept failing): an approved request
    still waiting for Stripe is paid. Anything else is left as it is, for staff."""
    request_id = (
        RefundRequest.objects.filter(purchase_id=purchase_id, status=RefundStatus.APPROVED_UNPAID)
        .values_list("pk", flat=True)
        .first()
    )
    if request_id is None:
        return
    with transaction.atomic():
        request = locks.lock_work_row(RefundRequest, pk=request_id, related=("organization", "purchase"))
        if request.status == RefundStatus.APPROVED_UNPAID:
            _refund_paid(request, refund_id=refund_id, staff=None, now=now)


@transaction.atomic
def _claim_refund(*, request_id: int, staff, now: datetime) -> None:
    """Step 1 of refund_approve: check, take the credits back, mark approved."""
    request = locks.lock_work_row(RefundRequest, pk=request_id, related=("organization",))
    if request.status == RefundStatus.REJECTED:
        raise CreditsError("This request was rejected.", code="already_rejected")
    if request.status != RefundStatus.PENDING:
        # Claimed before (paid, or waiting for Stripe): refund_approve goes on from there.
        return
    locks.lock_account(organization=request.organization)
    if has_usage_history(organization=request.organization):
        raise CreditsError(
            "The organization has used the API since asking, so the purchase is no longer refundable.",
            code="ineligible",
        )
    reverse_purchase(purchase_id=request.purchase_id, now=now, created_by=staff)
    request.status = RefundStatus.APPROVED_UNPAID
    request.reviewed_by, request.reviewed_at = staff, now
    request.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    audit_record(
        actor=staff,
        action="refund_approve",
        obj=request,
        before={"status": RefundStatus.PENDING},
        after={"status": request.status},
        organization=request.organization,
        now=now,
    )


@transaction.atomic
def refund_reject(*, request_id: int, staff, note: str, now: datetime) -> RefundRequest:
    if not note.strip():
        raise CreditsError("Give the customer a reason.", code="reason_required")
    request = locks.lock_work_row(RefundRequest, pk=request_id, related=("organization",))
    if request.status != RefundStatus.PENDING:
        # An approved request's credits were already taken back: its refund is owed.
        raise CreditsError("Only a request waiting for review can be rejected.", code="not_open")
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


# An approval that did not reach Stripe (an outage, a crash) is retried by the job this long
# after the approval or the last failed try: it never races an approval still in flight, and
# a refund Stripe keeps refusing (shown to staff with its error) is asked about every so often,
# not on every run.
RETRY_UNPAID_AFTER = timedelta(minutes=10)


def retry_unpaid_refunds(*, now: datetime) -> int:
    """The job: pay every approved refund that Stripe has not paid yet (credits already
    taken back, so the money is owed). Returns how many were paid now."""
    paid, failed = 0, []
    since = now - RETRY_UNPAID_AFTER
    due = RefundRequest.objects.filter(status=RefundStatus.APPROVED_UNPAID, reviewed_at__lte=since).filter(
        Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=since)
    )
    for request_id in due.order_by("pk").values_list("pk", flat=True):
        # One request's trouble never stops the others; it is retried on the next run.
        try:
            request = refund_approve(request_id=request_id, staff=None, now=now)
        except Exception:
            logger.exception("retrying refund request %s failed", request_id)
            failed.append(request_id)
            continue
        paid += request.status == RefundStatus.REFUNDED
    if failed:
        raise CreditsError(f"Refund requests {failed} could not be retried.", code="refund_job_incomplete")
    return paid
