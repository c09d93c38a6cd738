"""Receipts: one per paid charge, numbered without gaps, with what it said frozen at issue."""

from django.db import models


class BillingKind(models.TextChoices):
    """What a charge (or refund) was, as the billing history and the receipt name it."""

    PURCHASE = "purchase", "Purchase"
    AUTO_RECHARGE = "auto_recharge", "Auto-recharge"
    TOP_UP = "top_up", "Low-balance top-up"
    OVERAGE = "overage", "Overage"
    REFUND = "refund", "Refund"


class HistoryStatus(models.TextChoices):
    """Where a charge stands, as the billing history shows it (derived, not stored)."""

    PAID = "paid", "Paid"
    FAILED = "failed", "Failed"
    PENDING = "pending", "Pending"
    REFUNDED = "refunded", "Refunded"


class ReceiptSequence(models.Model):
    """The next receipt number; a single row, locked by the transaction that grants a charge,
    so numbers are handed out in commit order and a rolled-back grant returns its number."""

    # A database sequence would leave a gap on every rollback; a locked row does not.
    next_number = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="receipt_sequence_singleton"),
        ]

    def __str__(self) -> str:
        return f"Next receipt number {self.next_number}"


class Receipt(models.Model):
    """Issued in the transaction that grants a charge; the buyer's details, the seller's and
    the line are copied here because receipts must not change when the details do."""

    # One receipt per purchase: a second confirmation (webhook after page) finds it taken.
    purchase = models.OneToOneField(
        "credits.Purchase", on_delete=models.PROTECT, related_name="receipt"
    )
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="receipts"
    )
    number = models.PositiveBigIntegerField(unique=True)
    issued_at = models.DateTimeField()
    kind = models.CharField(max_length=16, choices=BillingKind.choices)
    amount_cents = models.PositiveBigIntegerField()
    bonus_cents = models.PositiveBigIntegerField(default=0)
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    refund_policy_version = models.CharField(max_length=32, blank=True)
    refund_policy_accepted_at = models.DateTimeField(null=True, blank=True)
    # The seller as the billing policy named it when the receipt was issued.
    seller_name = models.CharField(max_length=200)
    seller_address = models.TextField(blank=True)
    seller_tax_id = models.CharField(max_length=64, blank=True)
    # The buyer's billing details as they stood then (the organization's name if none).
    buyer_legal_name = models.CharField(max_length=200)
    buyer_address = models.TextField(blank=True)
    buyer_country = models.CharField(max_length=100, blank=True)
    buyer_tax_id = models.CharField(max_length=64, blank=True)
    buyer_email = models.EmailField(blank=True)
    # Claimed (set) by the one sender before the e-mail goes out: a second confirmation
    # of the charge, or a second run of the retry job, finds it set and sends nothing.
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.CheckConstraint(condition=models.Q(number__gt=0), name="receipt_number_positive"),
        ]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return format_receipt_number(self.number)


def format_receipt_number(number: int) -> str:
    return f"RC-{number:06d}"
