"""Usage reads: history, daily rollups, the rate of use and its forecast, UTC days."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Min, QuerySet, Sum
from django.db.models.functions import TruncDate

from accounts.models import Organization
from billing_portal.compiled_queries import Read
from credits.models import EntryKind, LedgerEntry, UsageEvent, UsageRollup


def has_usage_history(*, organization: Organization) -> bool:
    """Whether the API was ever used: any recorded usage event, charged or free, or any usage
    debit in the ledger. From then on no purchase of the organization is refundable."""
    return (
        UsageEvent.objects.filter(organization=organization).exists()
        or LedgerEntry.objects.filter(account__organization=organization, kind=EntryKind.USAGE).exists()
    )


def day_start(day: date) -> datetime:
    """Midnight UTC starting `day`: the portal's days are UTC days."""
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class DailyUsage:
    day: date
    model_name: str
    model_slug: str
    events: int
    input_tokens: int
    output_tokens: int
    pages: int
    cost_micros: int


def daily_usage(*, organization: Organization, start: date, end: date) -> list[DailyUsage]:
    """Usage per UTC day and model from `start` to `end` inclusive, read from the daily
    rollups: one query over at most (days x models) rows, however many calls they sum."""
    rows = (
        UsageRollup.objects.filter(organization=organization, day__gte=start, day__lte=end)
        .values(
            "day", "api_model__name", "api_model__slug", "calls", "input_tokens",
            "output_tokens", "pages", "cost_micros",
        )
        .order_by("day", "api_model__sort_order", "api_model__name")
    )
    return [
        DailyUsage(
            day=row["day"],
            model_name=row["api_model__name"],
            model_slug=row["api_model__slug"],
            events=row["calls"],
            input_tokens=row["input_tokens"],
            output_tokens=row["output_tokens"],
            pages=row["pages"],
            cost_micros=row["cost_micros"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class ModelUsageTotal:
    model_slug: str
    calls: int
    input_tokens: int
    output_tokens: int
    pages: int
    cost_micros: int


def usage_totals_by_model(*, organization: Organization, start: date, end: date) -> list[ModelUsageTotal]:
    """Each model's usage from `start` to `end` inclusive, summed over the daily rollups."""
    rows = (
        UsageRollup.objects.filter(organization=organization, day__gte=start, day__lte=end)
        .values("api_model__slug")
        .annotate(
            calls_sum=Sum("calls"),
            input_sum=Sum("input_tokens"),
            output_sum=Sum("output_tokens"),
            pages_sum=Sum("pages"),
            cost_sum=Sum("cost_micros"),
        )
        .order_by("api_model__slug")
    )
    return [
        ModelUsageTotal(
            row["api_model__slug"], row["calls_sum"], row["input_sum"], row["output_sum"],
            row["pages_sum"], row["cost_sum"],
        )
        for row in rows
    ]


# The forecast looks at most this far back...
FORECAST_WINDOW_DAYS = 30
# ...and says nothing until usage was charged on this many distinct days: one busy afternoon
# is not a rate.
FORECAST_MIN_DAYS_WITH_USAGE = 3
# Past ten years a date means nothing.
FORECAST_MAX_DAYS = 3_650


@dataclass(frozen=True)
class UsageForecast:
    # What was charged over the days counted, and how many days that is.
    used_micros: int
    days_counted: int
    # Usage was charged on enough days to be a rate (FORECAST_MIN_DAYS_WITH_USAGE).
    rated: bool
    # None while there is too little usage to tell (or nothing left, or past ten years).
    days_left: int | None
    runs_out_on: date | None
    lasts_for_years: bool

    @property
    def daily_micros(self) -> int:
        return self.used_micros // self.days_counted if self.days_counted else 0


def _charged_usage(*, organization_id: int, start: date, today: date) -> QuerySet:
    """The organization's charged usage from `start` through `today`, in one row: the total,
    the first day with any and how many days had any (no row when there was none)."""
    return (
        UsageRollup.objects.filter(
            organization_id=organization_id, day__gte=start, day__lte=today, cost_micros__gt=0
        )
        .order_by()
        .values("organization_id")
        .annotate(used=Sum("cost_micros"), first_day=Min("day"), days=Count("day", distinct=True))
        .values_list("used", "first_day", "days")
    )


def usage_forecast_read(*, organization_id: int, balance_micros: int, today: date) -> Read[UsageForecast]:
    """When the balance runs out at the organization's rate of use (one rollup query, to run
    alone or with other reads): the one definition of "the current rate of use", for the
    credit page and the alerts alike.

    The rate is the charged usage over the days the organization has actually been using
    the API: from its first charged day in the last 30 UTC days through today, so a customer
    who started last week is not averaged over thirty days of nothing, and the quiet days
    between busy ones still count as days."""
    start = today - timedelta(days=FORECAST_WINDOW_DAYS - 1)
    return Read(
        _charged_usage,
        {"organization_id": organization_id, "start": start, "today": today},
        then=lambda rows: _forecast(rows[0] if rows else None, balance_micros=balance_micros, today=today),
    )


def usage_forecast(*, organization_id: int, balance_micros: int, today: date) -> UsageForecast:
    """usage_forecast_read, run alone."""
    read = usage_forecast_read(organization_id=organization_id, balance_micros=balance_micros, today=today)
    return read.run()


def _forecast(
    charged: tuple[int, date, int] | None, *, balance_micros: int, today: date
) -> UsageForecast:
    if charged is None:
        return UsageForecast(0, 0, False, None, None, False)
    used, first_day, days_with_usage = int(charged[0]), charged[1], charged[2]
    counted = (today - first_day).days + 1
    rated = days_with_usage >= FORECAST_MIN_DAYS_WITH_USAGE
    if not rated or balance_micros <= 0:
        return UsageForecast(used, counted, rated, None, None, False)
    days_left = balance_micros * counted // used
    if days_left > FORECAST_MAX_DAYS:
        return UsageForecast(used, counted, rated, None, None, True)
    return UsageForecast(used, counted, rated, days_left, today + timedelta(days=days_left), False)


def usage_rollup_violations() -> list[str]:
    """Every daily rollup that differs from the sum of its usage events, in words (empty when
    they agree): two grouped queries over the whole table, for check_ledger."""
    fields = ("calls", "input_tokens", "output_tokens", "pages", "cost_micros")
    recomputed = {
        (row["organization_id"], row["day"], row["api_model_id"]): (
            row["n"], row["i"], row["o"], row["p"], row["c"]
        )
        for row in UsageEvent.objects.annotate(day=TruncDate("occurred_at", tzinfo=UTC))
        .values("organization_id", "day", "api_model_id")
        .annotate(
            n=Count("pk"), i=Sum("input_tokens"), o=Sum("output_tokens"), p=Sum("pages"), c=Sum("cost_micros")
        )
        .order_by()
    }
    stored = {
        (row[0], row[1], row[2]): tuple(row[3:])
        for row in UsageRollup.objects.values_list("organization_id", "day", "api_model_id", *fields)
    }
    problems = []
    for key in sorted(recomputed.keys() | stored.keys()):
        want, have = recomputed.get(key, (0,) * 5), stored.get(key, (0,) * 5)
        if tuple(want) != tuple(have):
            organization_id, day, model_id = key
            problems.append(
                f"usage rollup of organization {organization_id}, model {model_id}, {day}: "
                f"stored {dict(zip(fields, have, strict=True))} "
                f"!= events {dict(zip(fields, want, strict=True))}"
            )
    return problems
