"""Charging a negative balance to the organization's default card."""

from django.db import models


class OverageTrigger(models.TextChoices):
    PERIOD_END = "period_end", "Commitment period ended in debt"
    THRESHOLD = "threshold", "Debt passed the overage threshold"


class OverageStatus(models.TextChoices):
    # Written before the card is charged: a crash leaves a pending row the job retries
    # with the same Stripe idempotency key, so the card is never charged twice.
    PENDING = "pending", "Charging"
    SUCCEEDED = "succeeded", "Paid"
    FAILED = "failed", "Failed"


class OverageCharge(models.Model):
    """One attempt to collect an organization's debt; paid, it becomes a purchase that
    settles the negative balance through the ledger like any other purchase."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="overage_charges"
    )
    # Also the Purchase key and the Stripe idempotency key.
    key = models.CharField(max_length=128, unique=True)
    trigger = models.CharField(max_length=16, choices=OverageTrigger.choices)
    # The commitment period whose end (or whose threshold crossing) made the debt due.
    period_starts_on = models.DateField()
    period_ends_on = models.DateField()
    # The debt rounded up to the cent when the charge was created.
    amount_cents = models.PositiveBigIntegerField()
    status = models.CharField(
        max_length=16, choices=OverageStatus.choices, default=OverageStatus.PENDING
    )
    # The pending purchase is written with the charge; it is granted once the card is paid.
    purchase = models.OneToOneField(
        "credits.Purchase", on_delete=models.PROTECT, related_name="overage_charge"
    )
    # 1 for the first try at a period end; a declined period-end charge is tried again as
    # attempt 2, 3, 4 (each its own purchase and Stripe key) on the recharge retry schedule.
    attempt = models.PositiveSmallIntegerField(default=1)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    charged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_cents__gt=0), name="overage_amount_positive"
            ),
            # A period's end is charged once per attempt, however often the job runs.
            models.UniqueConstraint(
                fields=["organization", "period_starts_on", "attempt"],
                condition=models.Q(trigger="period_end"),
                name="overage_once_per_period_end",
            ),
            # At most one charge in flight per organization.
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(status="pending"),
                name="one_pending_overage_charge",
            ),
        ]

    def __str__(self) -> str:
        return f"Overage {self.key} {self.amount_cents / 100:,.2f} USD ({self.status})"
