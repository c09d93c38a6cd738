"""Receipts: issued with the grant of a charge (numbered without gaps), e-mailed once after
commit with the PDF attached."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from accounts.mail import email_subject
from credits.models import (
    BillingDetails,
    BillingKind,
    BillingPolicy,
    Purchase,
    PurchaseStatus,
    Receipt,
    ReceiptSequence,
)
from credits.receipts_pdf import receipt_pdf_bytes
from credits.selectors.history import charge_kind
from credits.services.notifications import BILLING_ROLES, organization_emails

logger = logging.getLogger(__name__)

# A receipt whose e-mail has not gone out this long after issue is sent by the jobs
# (the process died between commit and send, or the mail server refused it).
RESEND_AFTER = timedelta(minutes=5)


def _next_number() -> int:
    """Take the next number under the sequence row's lock; the caller's transaction holds
    the lock until it commits, so a rollback hands the same number to the next receipt."""
    sequence = ReceiptSequence.objects.select_for_update().filter(pk=1).first()
    if sequence is None:
        # Only a database emptied after migrating (tests) lacks the row.
        try:
            with transaction.atomic():
                ReceiptSequence.objects.create(pk=1, next_number=1)
        except IntegrityError:
            pass
        sequence = ReceiptSequence.objects.select_for_update().get(pk=1)
    number = sequence.next_number
    sequence.next_number = number + 1
    sequence.save(update_fields=["next_number"])
    return number


def issue_receipt(*, purchase: Purchase, now: datetime) -> Receipt:
    """The receipt of a charge just granted; runs inside the granting transaction, which
    holds the account lock, and mails it after commit. Never called twice for one purchase
    (the grant happens once), and the one-to-one constraint would refuse a second."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("issue_receipt must run inside the granting transaction")
    policy = BillingPolicy.current()
    details = BillingDetails.objects.filter(organization_id=purchase.organization_id).first()
    kind = charge_kind(purchase)
    receipt = Receipt(
        purchase=purchase,
        organization_id=purchase.organization_id,
        number=_next_number(),
        issued_at=now,
        kind=kind,
        amount_cents=purchase.amount_cents,
        bonus_cents=0 if kind == BillingKind.OVERAGE else purchase.bonus_cents,
        card_brand=purchase.card_brand,
        card_last4=purchase.card_last4,
        refund_policy_version=purchase.refund_policy_version,
        refund_policy_accepted_at=purchase.refund_policy_accepted_at,
        seller_name=policy.seller_name,
        seller_address=policy.seller_address,
        seller_tax_id=policy.seller_tax_id,
        buyer_legal_name=details.legal_name if details else purchase.organization.name,
        buyer_address=details.address if details else "",
        buyer_country=details.country if details else "",
        buyer_tax_id=details.tax_id if details else "",
        buyer_email=details.billing_email if details else "",
    )
    receipt.save()
    # robust: a failure to mail must not fail the request that was paid; the jobs retry.
    transaction.on_commit(lambda: send_receipt(receipt_id=receipt.pk, now=now), robust=True)
    return receipt


def receipt_recipients(receipt: Receipt) -> list[str]:
    emails = organization_emails(organization=receipt.organization, roles=BILLING_ROLES)
    if receipt.buyer_email and receipt.buyer_email not in emails:
        emails.append(receipt.buyer_email)
    return emails


def send_receipt(*, receipt_id: int, now: datetime) -> bool:
    """E-mail the receipt with its PDF, at most once: the send is claimed by setting
    `emailed_at` where it is still empty, and released if it fails."""
    claimed = Receipt.objects.filter(pk=receipt_id, emailed_at__isnull=True).update(emailed_at=now)
    if not claimed:
        return False
    try:
        return _send_claimed_receipt(receipt_id)
    except Exception:
        # Whatever failed (the mail server, a bad header, the PDF), the send is released
        # for the jobs to try again, and logged with the traceback; never lost as "sent".
        logger.exception("receipt %s could not be e-mailed", receipt_id)
        Receipt.objects.filter(pk=receipt_id).update(emailed_at=None)
        return False


def _send_claimed_receipt(receipt_id: int) -> bool:
    receipt = Receipt.objects.select_related("organization", "purchase").get(pk=receipt_id)
    recipients = receipt_recipients(receipt)
    if not recipients:
        return False
    body = render_to_string(
        "credits/email/receipt.txt",
        {"receipt": receipt, "organization": receipt.organization, "portal_url": settings.PORTAL_URL},
    )
    message = EmailMessage(
        subject=email_subject(f"Receipt {receipt.display_number} for {receipt.organization.name}"),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    refunded = receipt.purchase.status == PurchaseStatus.REFUNDED
    message.attach(
        f"{receipt.display_number}.pdf",
        receipt_pdf_bytes(receipt=receipt, refunded=refunded),
        "application/pdf",
    )
    message.send()
    return True


def send_unsent_receipts(*, now: datetime) -> int:
    """The job: receipts whose e-mail did not go out after commit (a crash, a mail outage)."""
    due = Receipt.objects.filter(emailed_at__isnull=True, issued_at__lte=now - RESEND_AFTER)
    return sum(
        send_receipt(receipt_id=pk, now=now) for pk in due.order_by("pk").values_list("pk", flat=True)
    )
