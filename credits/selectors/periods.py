"""Commitment period arithmetic: the bounds of the period holding a day."""

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from credits.models import PeriodKind


def _clamped(year: int, month: int, day: int) -> date:
    # Billing days 29-31 fall on the month's last day in shorter months (Feb 28/29).
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _shift_months(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + months
    return index // 12, index % 12 + 1


@dataclass(frozen=True)
class PeriodBounds:
    kind: str
    starts_on: date
    # Exclusive.
    ends_on: date

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days

    def days_left(self, today: date) -> int:
        return (self.ends_on - today).days

    @property
    def ends_at(self) -> datetime:
        """The moment the period ends (midnight UTC starting its end day)."""
        return datetime.combine(self.ends_on, time.min, tzinfo=UTC)


def period_bounds(*, anchor: date, kind: str, on: date) -> PeriodBounds:
    """The period of an account anchored on `anchor` that contains the day `on`."""
    if kind == PeriodKind.YEARLY:
        start = _clamped(on.year, anchor.month, anchor.day)
        if start > on:
            start = _clamped(on.year - 1, anchor.month, anchor.day)
        end = _clamped(start.year + 1, anchor.month, anchor.day)
        return PeriodBounds(kind, start, end)
    start = _clamped(on.year, on.month, anchor.day)
    if start > on:
        start = _clamped(*_shift_months(on.year, on.month, -1), anchor.day)
    end = _clamped(*_shift_months(start.year, start.month, 1), anchor.day)
    return PeriodBounds(kind, start, end)


def next_period_bounds(*, anchor: date, bounds: PeriodBounds) -> PeriodBounds:
    return period_bounds(anchor=anchor, kind=bounds.kind, on=bounds.ends_on)


