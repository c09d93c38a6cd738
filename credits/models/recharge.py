"""Auto-recharge: a plan to buy credits on a schedule (and optionally below a balance)."""

from django.conf import settings
from django.db import models

from credits.models.ledger import PeriodKind
from credits.models.purchases import MIN_PURCHASE_CENTS


class RechargeStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    # Stopped after the last retry failed (the customer fixes the card and saves the plan to
    # resume), or by staff; last_result says which.
    PAUSED = "paused", "Paused"
    TERMINATED = "terminated", "Terminated"


class AutoRecharge(models.Model):
    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, related_name="auto_recharge"
    )
    status = models.CharField(
        max_length=16, choices=RechargeStatus.choices, default=RechargeStatus.ACTIVE
    )
    amount_cents = models.PositiveBigIntegerField()
    frequency = models.CharField(max_length=8, choices=PeriodKind.choices)
    # The first charge day; its day of the month (clamped in short months) anchors the
    # organization's commitment periods while the plan exists.
    billing_date = models.DateField()
    # Stripe PaymentMethod id to charge; empty means the organization's default card.
    payment_method_id = models.CharField(max_length=255, blank=True)
    # The next scheduled charge; moved forward only when that charge's row is written.
    next_charge_on = models.DateField()
    # Optional top-up when the balance falls below a floor, always capped per period so a
    # runaway loop can never charge a card dozens of times.
    threshold_enabled = models.BooleanField(default=False)
    threshold_micros = models.BigIntegerField(default=0)
    max_threshold_recharges = models.PositiveSmallIntegerField(default=3)
    max_threshold_cents = models.PositiveBigIntegerField(default=0)
    last_result = models.CharField(max_length=500, blank=True)
    # The refund policy accepted for the charges this plan makes (copied onto each of
    # them); a new policy version must be accepted again at the next edit.
    refund_policy_version = models.CharField(max_length=32, blank=True)
    refund_policy_accepted_at = models.DateTimeField(null=True, blank=True)
    refund_policy_accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    terminated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_cents__gte=MIN_PURCHASE_CENTS), name="recharge_amount_min"
            ),
            models.CheckConstraint(
                condition=models.Q(max_threshold_recharges__lte=10), name="recharge_cap_max_10"
            ),
        ]

    def __str__(self) -> str:
        return f"Auto-recharge of {self.organization} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == RechargeStatus.ACTIVE


class ChargeKind(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    THRESHOLD = "threshold", "Low balance top-up"


class ChargeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Paid"
    # Declined or needs authentication: retried after 1, 3 and 5 days.
    FAILED = "failed", "Failed, will retry"
    REQUIRES_ACTION = "requires_action", "Needs authentication"
    # Stripe could not be reached (outage, network): retried with backoff under the same
    # idempotency key, since we cannot tell whether the first request charged the card.
    UNREACHABLE = "unreachable", "Payment provider unreachable, will retry"
    GAVE_UP = "gave_up", "Failed, plan paused"


class RechargeCharge(models.Model):
    """One charge a plan owes: unique per plan, period and sequence, so it happens once."""

    plan = models.ForeignKey(AutoRecharge, on_delete=models.PROTECT, related_name="charges")
    kind = models.CharField(max_length=16, choices=ChargeKind.choices)
    # The scheduled day (scheduled) or the period start (threshold) this charge belongs to.
    due_on = models.DateField()
    # 0 for scheduled charges; 1..cap for threshold top-ups within one period.
    sequence = models.PositiveSmallIntegerField(default=0)
    amount_cents = models.PositiveBigIntegerField()
    purchase = models.OneToOneField(
        "credits.Purchase", on_delete=models.PROTECT, related_name="recharge_charge"
    )
    status = models.CharField(
        max_length=16, choices=ChargeStatus.choices, default=ChargeStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    # Consecutive tries that could not reach Stripe; sets the backoff and when owners are
    # mailed. Reset by any answer from Stripe.
    provider_failures = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "kind", "due_on", "sequence"], name="recharge_charge_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} charge of {self.plan.organization} due {self.due_on}"
