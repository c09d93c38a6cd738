"""Usage reads: history, API keys, UTC days."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from accounts.models import Organization
from credits.models import ApiKey, EntryKind, LedgerEntry, UsageEvent
from credits.models.usage import hash_api_key


def has_usage_history(*, organization: Organization) -> bool:
    """Whether the API was ever used: any recorded usage event, charged or free, or any usage
    debit in the ledger. From then on no purchase of the organization is refundable."""
    return (
        UsageEvent.objects.filter(organization=organization).exists()
        or LedgerEntry.objects.filter(account__organization=organization, kind=EntryKind.USAGE).exists()
    )


def api_key_for(*, raw_key: str) -> ApiKey | None:
    """The active key a client presented, else None (unknown and revoked alike)."""
    return ApiKey.objects.filter(key_hash=hash_api_key(raw_key), revoked_at__isnull=True).first()


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
    """Usage per UTC day and model from `start` to `end` inclusive, summed in SQL (one query)."""
    rows = (
        UsageEvent.objects.filter(
            organization=organization,
            occurred_at__gte=day_start(start),
            occurred_at__lt=day_start(end + timedelta(days=1)),
        )
        .annotate(day=TruncDate("occurred_at", tzinfo=UTC))
        .values("day", "api_model__name", "api_model__slug", "api_model__sort_order")
        .annotate(
            events=Count("pk"),
            input_tokens_sum=Sum("input_tokens"),
            output_tokens_sum=Sum("output_tokens"),
            pages_sum=Sum("pages"),
            cost=Sum("cost_micros"),
        )
        .order_by("day", "api_model__sort_order", "api_model__name")
    )
    return [
        DailyUsage(
            day=row["day"],
            model_name=row["api_model__name"],
            model_slug=row["api_model__slug"],
            events=row["events"],
            input_tokens=row["input_tokens_sum"],
            output_tokens=row["output_tokens_sum"],
            pages=row["pages_sum"],
            cost_micros=row["cost"],
        )
        for row in rows
    ]

