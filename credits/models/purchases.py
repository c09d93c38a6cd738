"""A purchase of credits: created before Stripe is called, granted once Stripe says paid."""

from django.conf import settings
from django.db import models

# The one home of the purchase bounds: the services check them, the forms and the buy page's
# input read them, the auto-recharge amount's check constraint uses the minimum.
MIN_PURCHASE_CENTS = 1_000  # $10: below this the card fee eats the purchase.
MAX_PURCHASE_CENTS = 10_000_000  # $100,000: beyond self-serve; staff arrange larger ones.
# Low-balance top-ups: the most money one period's top-ups may charge in all ($300,000), so a
# runaway loop can never drain a card.
MAX_TOPUPS_PER_PERIOD_CENTS = 30_000_000


class PurchaseStatus(models.TextChoices):
    # The row exists before any Stripe call, so a crash never loses track of a charge.
    PENDING = "pending", "Pending"
    REQUIRES_ACTION = "requires_action", "Needs authentication"
    SUCCEEDED = "succeeded", "Paid"
    FAILED = "failed", "Failed"
    # A refund was approved: the credits were taken back and the card refund is being paid
    # (or Stripe failed and it is retried); REFUNDED once Stripe has refunded it.
    REFUNDING = "refunding", "Refund on its way"
    REFUNDED = "refunded", "Refunded"


# The credits were taken back: not counted in its period, never granted again.
REVERSED_STATUSES = (PurchaseStatus.REFUNDING, PurchaseStatus.REFUNDED)


class PurchaseSource(models.TextChoices):
    CHECKOUT = "checkout", "Bought in the portal"
    AUTO_RECHARGE = "auto_recharge", "Auto-recharge"
    STAFF = "staff", "Recorded by staff"
    # A negative balance charged to the default card (credits.services.overage).
    OVERAGE = "overage", "Overage charge"


class Purchase(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="purchases"
    )
    # Idempotency: one purchase per key (a form submission, a recharge plan period).
    key = models.CharField(max_length=128, unique=True)
    amount_cents = models.PositiveBigIntegerField()
    # Fixed when the purchase is created from the bonus schedule then in force.
    bonus_cents = models.PositiveBigIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=PurchaseStatus.choices, default=PurchaseStatus.PENDING
    )
    source = models.CharField(
        max_length=16, choices=PurchaseSource.choices, default=PurchaseSource.CHECKOUT
    )
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True, null=True, blank=True)
    # What the receipt shows of the card, e.g. "visa", "4242".
    card_brand = models.CharField(max_length=32, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    # The customer accepted this version of the refund policy at this time.
    refund_policy_version = models.CharField(max_length=32, blank=True)
    refund_policy_accepted_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    # Set exactly once, in the transaction that writes the purchase's lots.
    granted_at = models.DateTimeField(null=True, blank=True)
    # The commitment period this purchase counts in, set when it is granted (never for an
    # overage payment, which buys no tier). It stays there whatever schedule comes later.
    period = models.ForeignKey(
        "credits.CommitmentPeriod",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="purchases",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_cents__gt=0), name="purchase_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.receipt_number} {self.amount_cents / 100:,.2f} USD ({self.status})"

    @property
    def receipt_number(self) -> str:
        """The receipt's gapless number once paid; before that (or for a charge that never
        succeeded) a reference to the purchase row, which is not a receipt number."""
        receipt = getattr(self, "receipt", None) if self.pk else None
        if receipt is not None:
            return receipt.display_number
        return f"P-{self.pk:08d}" if self.pk else "P-pending"
