"""Commitment periods: the schedules they follow, and each period with what was bought in it."""

from django.db import models

from credits.models.catalog import Tier
from credits.models.ledger import CreditAccount, PeriodKind


class ScheduleSource(models.TextChoices):
    FIRST_PURCHASE = "first_purchase", "First purchase"
    PLAN = "plan", "Auto-recharge saved"
    TERMINATION = "termination", "Auto-recharge terminated"


class CommitmentSchedule(models.Model):
    """How an account's periods are cut from a day on: a row per change, never edited in
    place, so every past period can be reproduced from these rows alone.

    The schedule in force on a day is the latest one effective on or before it; the period
    it cuts ends early where the next schedule takes effect."""

    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="schedules")
    kind = models.CharField(max_length=8, choices=PeriodKind.choices)
    # The billing date: its day of the month (days 29-31 clamp to short months' last day)
    # and, for yearly periods, its month. A termination keeps the plan's billing day, so
    # this can differ from effective_from (a plan on the 31st ending on Feb 28).
    anchor_on = models.DateField()
    # The first day cut by this schedule: the plan's first billing date, the first
    # purchase's day, or the end of the period running when the plan was terminated.
    effective_from = models.DateField()
    source = models.CharField(max_length=16, choices=ScheduleSource.choices)
    recorded_at = models.DateTimeField()
    # A schedule replaced before it took effect (the plan was edited or terminated first)
    # is kept for the record and set aside here; it never cut a period.
    replaced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["effective_from", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "effective_from"],
                condition=models.Q(replaced_at__isnull=True),
                name="schedule_one_per_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.effective_from} (billing day {self.anchor_on.day})"


class CommitmentPeriod(models.Model):
    """One period of an account's timeline. Opened by the periods service only; from the
    first purchase on the rows are contiguous and never overlap (on PostgreSQL an exclusion
    constraint and a foreign key from each period to the end of the one before enforce it)."""

    account = models.ForeignKey(CreditAccount, on_delete=models.PROTECT, related_name="periods")
    kind = models.CharField(max_length=8, choices=PeriodKind.choices)
    starts_on = models.DateField()
    # Exclusive: the period covers starts_on <= day < ends_on. It can only get shorter (a new
    # schedule takes effect inside it) while it is the account's latest period.
    ends_on = models.DateField()
    # The end of the period before: equal to starts_on, or null for the account's first
    # period. Referencing the previous row's ends_on is what makes a gap impossible.
    follows_on = models.DateField(null=True, blank=True)
    # A tier earned here holds through the following period, so a late renewal never
    # drops limits mid-day: this is the end of the next period as it stood, never moved
    # earlier once shown.
    tier_held_until = models.DateField()
    # Cached sum of the succeeded, unrefunded purchases of this period (Purchase.period).
    purchased_cents = models.BigIntegerField(default=0)
    tier_earned = models.CharField(max_length=16, choices=Tier.choices, default=Tier.NONE)
    # Set when a plan whose first billing date is this period's start day took its place:
    # the kind it had before. The period then earns the better tier of both kinds'
    # thresholds, so changing the plan never lowers a tier already reached that day.
    replaced_kind = models.CharField(max_length=8, choices=PeriodKind.choices, blank=True)

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.UniqueConstraint(fields=["account", "starts_on"], name="period_unique_start"),
            models.UniqueConstraint(fields=["account", "ends_on"], name="period_unique_end"),
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(follows_on__isnull=True),
                name="period_one_first",
            ),
            models.CheckConstraint(
                condition=models.Q(ends_on__gt=models.F("starts_on")), name="period_not_empty"
            ),
            models.CheckConstraint(
                condition=models.Q(follows_on__isnull=True)
                | models.Q(follows_on=models.F("starts_on")),
                name="period_follows_previous_end",
            ),
            models.CheckConstraint(
                condition=models.Q(purchased_cents__gte=0), name="period_purchases_not_negative"
            ),
        ]

    def __str__(self) -> str:
        # An en dash is the typographic range sign staff read in admin, not a typo.
        return f"{self.starts_on} – {self.ends_on} ({self.get_tier_earned_display()})"  # noqa: RUF001
