"""Reads behind the alerts: usage this month, the current daily rate, where an alert stands."""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Sum

from accounts.models import Organization
from credits.models import (
    AlertKind,
    AlertSent,
    AlertSettings,
    CreditAccount,
    EntryKind,
    LedgerEntry,
    LowBalanceMode,
)
from credits.selectors.ledger import credit_account_of
from credits.selectors.usage import usage_forecast

BUDGET_LEVELS = (50, 80, 100)
# Back above the threshold by this share (at least the minimum) before another alert.
REARM_PERCENT = 10
REARM_MIN_MICROS = 1_000_000
REARM_MIN_DAYS = 1


def month_start(now: datetime) -> date:
    return now.date().replace(day=1)


def usage_since_micros(*, account_id: int, since: datetime) -> int:
    used = LedgerEntry.objects.filter(
        account_id=account_id, kind=EntryKind.USAGE, created_at__gte=since
    ).aggregate(total=Sum("amount_micros"))["total"]
    return -(used or 0)


def days_left_at_current_rate(*, organization_id: int, balance_micros: int, now: datetime) -> int | None:
    """How many days the balance lasts at the current rate of use: the credit page's forecast
    (selectors/usage.py), so an alert never says what the page does not. None until usage
    makes a rate (charged on a few days), or when it lasts past the forecast's horizon."""
    forecast = usage_forecast(
        organization_id=organization_id, balance_micros=balance_micros, today=now.date()
    )
    if balance_micros <= 0 and forecast.used_micros > 0:
        # Used up (or in debt) while using the API: nothing is left, whatever the rate.
        return 0
    if not forecast.rated:
        return None
    return forecast.days_left


@dataclass(frozen=True)
class LowBalanceReading:
    below: bool
    # Clearly back above the threshold: the alert may go out again at the next crossing.
    rearmed: bool
    balance_micros: int
    days_left: int | None


def low_balance_reading(
    *, settings: AlertSettings, account: CreditAccount, now: datetime
) -> LowBalanceReading:
    balance = account.balance_micros
    if settings.low_balance_mode == LowBalanceMode.AMOUNT:
        threshold = settings.low_balance_threshold_micros
        return LowBalanceReading(
            balance < threshold, balance >= rearm_level_micros(threshold), balance, None
        )
    if settings.low_balance_mode == LowBalanceMode.DAYS:
        days_left = days_left_at_current_rate(
            organization_id=account.organization_id, balance_micros=balance, now=now
        )
        if days_left is None:
            # No rate of use yet (or one that lasts for years): nothing is running out.
            return LowBalanceReading(False, True, balance, None)
        wanted = settings.low_balance_days
        margin = max(wanted * REARM_PERCENT // 100, REARM_MIN_DAYS)
        return LowBalanceReading(days_left < wanted, days_left >= wanted + margin, balance, days_left)
    return LowBalanceReading(False, True, balance, None)


def balance_reached_since(*, account_id: int, since: datetime, level_micros: int) -> bool:
    """Whether the balance stood at `level_micros` or more at any entry since then: a
    purchase and usage between two checks still count as going back up (and re-arm)."""
    return LedgerEntry.objects.filter(
        account_id=account_id, created_at__gt=since, balance_after_micros__gte=level_micros
    ).exists()


def latest_entry_at(*, account_id: int) -> datetime | None:
    """When the account's latest ledger entry was written (what a balance read now reflects)."""
    return (
        LedgerEntry.objects.filter(account_id=account_id)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def rearm_level_micros(threshold_micros: int) -> int:
    return threshold_micros + max(threshold_micros * REARM_PERCENT // 100, REARM_MIN_MICROS)


def budget_level(*, used_micros: int, budget_micros: int) -> int:
    """The highest of 50, 80, 100 (percent of the budget) reached, else 0."""
    reached = [level for level in BUDGET_LEVELS if used_micros * 100 >= budget_micros * level]
    return reached[-1] if reached else 0


def month_start_at(now: datetime) -> datetime:
    return datetime.combine(month_start(now), time.min, tzinfo=now.tzinfo)


@dataclass(frozen=True)
class AlertsOverview:
    """What the settings page shows under the alerts."""

    settings: AlertSettings | None
    balance_micros: int
    used_this_month_micros: int
    budget_percent: int | None
    days_left: int | None
    last_low_balance: AlertSent | None
    last_budget: AlertSent | None


def alerts_overview(*, organization: Organization, now: datetime) -> AlertsOverview:
    account = credit_account_of(organization=organization)
    settings = AlertSettings.objects.filter(organization=organization).first()
    used = usage_since_micros(account_id=account.pk, since=month_start_at(now))
    sent = AlertSent.objects.filter(organization=organization)
    budget = settings.budget_micros if settings else None
    return AlertsOverview(
        settings=settings,
        balance_micros=account.balance_micros,
        used_this_month_micros=used,
        budget_percent=used * 100 // budget if budget else None,
        days_left=days_left_at_current_rate(
            organization_id=organization.pk, balance_micros=account.balance_micros, now=now
        ),
        last_low_balance=sent.filter(kind=AlertKind.LOW_BALANCE).first(),
        last_budget=sent.filter(kind=AlertKind.BUDGET).first(),
    )
