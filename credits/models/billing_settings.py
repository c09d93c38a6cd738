"""What the customer sets on Billing > Settings: billing details for receipts, and alerts."""

from dataclasses import dataclass

from django.conf import settings
from django.db import models


class BillingDetails(models.Model):
    """The buyer on receipts from now on; each receipt keeps its own copy."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="billing_details"
    )
    legal_name = models.CharField(max_length=200)
    address = models.TextField(max_length=500)
    country = models.CharField(max_length=100)
    tax_id = models.CharField(max_length=64, blank=True)
    # Receipts also go here (a finance mailbox), besides owners and billing members.
    billing_email = models.EmailField(blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name_plural = "billing details"

    def __str__(self) -> str:
        return f"Billing details of {self.organization}"


class LowBalanceMode(models.TextChoices):
    OFF = "off", "Off"
    AMOUNT = "amount", "When the balance falls below an amount"
    DAYS = "days", "When fewer than N days are left at the current rate"


class AlertSettings(models.Model):
    """The alerts an organization asked for, and where each stands (so each goes out once
    per crossing). Checked after usage commits and by the jobs, under this row's lock."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.CASCADE, related_name="alert_settings"
    )
    low_balance_mode = models.CharField(
        max_length=8, choices=LowBalanceMode.choices, default=LowBalanceMode.OFF
    )
    low_balance_threshold_micros = models.BigIntegerField(default=0)
    low_balance_days = models.PositiveSmallIntegerField(default=7)
    # True from the alert until the balance is back clearly above the threshold
    # (hysteresis): a balance hovering at the line does not mail on every batch.
    low_balance_below = models.BooleanField(default=False)
    # The monthly usage budget (calendar month, UTC); null means no budget.
    budget_micros = models.BigIntegerField(null=True, blank=True)
    # The month (its first day) and the highest percentage already mailed in it.
    budget_month = models.DateField(null=True, blank=True)
    budget_level_sent = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "alert settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(low_balance_threshold_micros__gte=0),
                name="low_balance_threshold_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(budget_micros__isnull=True) | models.Q(budget_micros__gt=0),
                name="budget_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Alerts of {self.organization}"


class AlertKind(models.TextChoices):
    LOW_BALANCE = "low_balance", "Low balance"
    BUDGET = "budget", "Usage budget"


class AlertSent(models.Model):
    """An alert e-mail that went out: the settings page shows the last one of each kind."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="alerts_sent"
    )
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    # For a budget alert the month it counts in, so each level goes out once a month.
    month = models.DateField(null=True, blank=True)
    # The percentage of the budget reached (50, 80, 100); 0 for low balance.
    level = models.PositiveSmallIntegerField(default=0)
    balance_micros = models.BigIntegerField()
    summary = models.CharField(max_length=300)
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-sent_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month", "level"],
                condition=models.Q(kind="budget"),
                name="budget_alert_once_per_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} alert to {self.organization} at {self.sent_at}"


# What the settings form hands the services (forms never import services, so they live here).
MAX_DAYS = 365


@dataclass(frozen=True)
class BillingDetailsInput:
    legal_name: str
    address: str
    country: str
    tax_id: str = ""
    billing_email: str = ""


@dataclass(frozen=True)
class AlertsInput:
    low_balance_mode: str
    low_balance_threshold_micros: int = 0
    low_balance_days: int = 7
    # None: no monthly budget.
    budget_micros: int | None = None
