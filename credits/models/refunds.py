"""Refund requests: customers ask, staff decide, Stripe pays back, the ledger reverses."""

from django.conf import settings
from django.db import models


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending review"
    # Staff approved and the credits were taken back; the card refund has not been paid
    # yet (in flight, or Stripe failed: the error is kept and approving again retries it).
    APPROVED_UNPAID = "approved_unpaid", "Approved, refund on its way"
    REFUNDED = "refunded", "Refunded"
    REJECTED = "rejected", "Rejected"


class RefundRequest(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="refund_requests"
    )
    purchase = models.ForeignKey(
        "credits.Purchase", on_delete=models.PROTECT, related_name="refund_requests"
    )
    reason = models.TextField(max_length=2000)
    status = models.CharField(
        max_length=16, choices=RefundStatus.choices, default=RefundStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    requested_at = models.DateTimeField()
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    # Staff's reason when rejecting, shown to the customer.
    decision_note = models.CharField(max_length=500, blank=True)
    stripe_refund_id = models.CharField(max_length=255, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # When Stripe was last asked for this refund and did not pay it: the job waits from here.
    last_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # One live request per purchase; after a rejection the customer may ask again.
            models.UniqueConstraint(
                fields=["purchase"],
                condition=~models.Q(status="rejected"),
                name="one_open_refund_per_purchase",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund of {self.purchase.receipt_number} ({self.get_status_display()})"
