"""Commitment periods: what an organization bought in each, and the tier it earned."""

from django.db import models

from credits.models.catalog import Tier
from credits.models.ledger import CreditAccount, PeriodKind


class CommitmentPeriod(models.Model):
    """One period of an account; written when a purchase lands in it."""

    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="periods")
    kind = models.CharField(max_length=8, choices=PeriodKind.choices)
    starts_on = models.DateField()
    # Exclusive: the period covers starts_on <= day < ends_on.
    ends_on = models.DateField()
    # A tier earned here holds through the following period, so a late renewal never
    # drops limits mid-day: this is the end of the next period.
    tier_held_until = models.DateField()
    # Cached sum of succeeded, unrefunded purchases granted in this period.
    purchased_cents = models.BigIntegerField(default=0)
    tier_earned = models.CharField(max_length=16, choices=Tier.choices, default=Tier.NONE)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["account", "starts_on"], name="period_unique_start"),
            models.CheckConstraint(
                condition=models.Q(ends_on__gt=models.F("starts_on")), name="period_not_empty"
            ),
        ]

    def __str__(self) -> str:
        # An en dash is the typographic range sign staff read in admin, not a typo.
        return f"{self.starts_on} – {self.ends_on} ({self.get_tier_earned_display()})"  # noqa: RUF001
