"""Commitment periods, read: which period holds a day for an account, cut from its schedules.

The one place that answers "which period" (the periods service writes what this reads).
An account's timeline is its CommitmentPeriod rows (opened up to the latest day something
happened) followed by the periods its schedules cut after them; before the first purchase
an account has no period. The arithmetic is pure so that a preview can ask "what if this
schedule were recorded" with exactly the rules the save applies.
"""

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from credits.models import CommitmentPeriod, CommitmentSchedule, CreditAccount, PeriodKind


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

    @property
    def kind_label(self) -> str:
        return PeriodKind(self.kind).label


def period_bounds(*, anchor: date, kind: str, on: date) -> PeriodBounds:
    """The grid period of a schedule anchored on `anchor` that contains the day `on`."""
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


def charge_dates(*, billing_date: date, frequency: str, on_or_after: date, count: int) -> list[date]:
    """A plan's charge days from `on_or_after` on: the billing day each month (clamped to
    the month's end) or each year. They are the starts of the periods the plan cuts."""
    dates: list[date] = []
    day = max(on_or_after, billing_date)
    while len(dates) < count:
        bounds = period_bounds(anchor=billing_date, kind=frequency, on=day)
        charge_day = bounds.starts_on if bounds.starts_on >= day else bounds.ends_on
        dates.append(charge_day)
        day = period_bounds(anchor=billing_date, kind=frequency, on=charge_day).ends_on
    return dates


def latest_charge_day(*, billing_date: date, frequency: str, today: date) -> date:
    """The plan's latest charge day not after today (today >= billing_date)."""
    return period_bounds(anchor=billing_date, kind=frequency, on=today).starts_on


@dataclass(frozen=True)
class Schedule:
    kind: str
    anchor_on: date
    effective_from: date
    # None for a schedule a preview imagines.
    pk: int | None = None


def active_schedules(*, account: CreditAccount) -> list[Schedule]:
    """The account's schedules that cut (or will cut) periods, oldest first."""
    return [
        Schedule(kind, anchor_on, effective_from, pk)
        for pk, kind, anchor_on, effective_from in CommitmentSchedule.objects.filter(
            account=account, replaced_at__isnull=True
        )
        .order_by("effective_from")
        .values_list("pk", "kind", "anchor_on", "effective_from")
    ]


def schedule_in_force(schedules: list[Schedule], day: date) -> Schedule | None:
    in_force = None
    for schedule in schedules:
        if schedule.effective_from <= day:
            in_force = schedule
    return in_force


def cut_period(schedules: list[Schedule], day: date) -> PeriodBounds | None:
    """The period these schedules cut around `day`: the grid period of the schedule in force,
    ended early on the day the next schedule takes effect. None before the first schedule."""
    in_force = schedule_in_force(schedules, day)
    if in_force is None:
        return None
    grid = period_bounds(anchor=in_force.anchor_on, kind=in_force.kind, on=day)
    start = max(grid.starts_on, in_force.effective_from)
    end = grid.ends_on
    for schedule in schedules:
        if day < schedule.effective_from < end:
            end = schedule.effective_from
            break
    return PeriodBounds(in_force.kind, start, end)


def with_schedule(
    schedules: list[Schedule], new: Schedule, *, today: date
) -> tuple[list[Schedule], list[Schedule]]:
    """The schedules after recording `new` on `today`, and those it replaces: every schedule
    not yet in force (an edit before the first billing date replaces the pending one), and
    one in force from the very day `new` takes effect (it takes that period's place)."""
    replaced = [
        s for s in schedules if s.effective_from > today or s.effective_from == new.effective_from
    ]
    kept = [s for s in schedules if s not in replaced]
    return sorted([*kept, new], key=lambda s: s.effective_from), replaced


def after_termination(
    schedules: list[Schedule], *, today: date, has_periods: bool
) -> tuple[list[Schedule], list[Schedule], Schedule | None]:
    """Terminating a plan: what is not in force yet is dropped; the current period runs to
    its end as the schedules in force cut it, then periods are monthly on the same billing
    day. With no period opened yet (no purchase, the plan's first charge not made) every
    schedule is dropped: the first purchase then starts monthly periods from its day, as
    for any new account. Returns (schedules after, replaced, the monthly schedule or None)."""
    if not has_periods:
        return [], list(schedules), None
    replaced = [s for s in schedules if s.effective_from > today]
    kept = [s for s in schedules if s not in replaced]
    current = cut_period(kept, today)
    in_force = schedule_in_force(kept, today)
    if current is None or in_force is None:
        return kept, replaced, None
    monthly = Schedule(PeriodKind.MONTHLY, in_force.anchor_on, current.ends_on)
    return [*kept, monthly], replaced, monthly


def first_purchase_schedule(day: date) -> Schedule:
    """With no schedule in force, the first purchase anchors monthly periods on its day."""
    return Schedule(PeriodKind.MONTHLY, day, day)


def _row_bounds(row: CommitmentPeriod) -> PeriodBounds:
    return PeriodBounds(row.kind, row.starts_on, row.ends_on)


def period_row_on(*, account: CreditAccount, day: date) -> CommitmentPeriod | None:
    """The opened period holding `day`, if it has been opened."""
    return CommitmentPeriod.objects.filter(
        account=account, starts_on__lte=day, ends_on__gt=day
    ).first()


def period_on(*, account: CreditAccount, day: date) -> PeriodBounds | None:
    """The period of the account's timeline holding `day`; None before its first period."""
    row = period_row_on(account=account, day=day)
    if row is not None:
        return _row_bounds(row)
    first = CommitmentPeriod.objects.filter(account=account).order_by("starts_on").first()
    if first is None or day < first.starts_on:
        return None
    return cut_period(active_schedules(account=account), day)


def period_for_purchase(*, account: CreditAccount, day: date) -> PeriodBounds:
    """The period a purchase granted on `day` counts in: the timeline's, or for a first
    purchase the one it opens (the plan's schedule if one is in force, else monthly from
    that day, ended early where a pending plan takes effect)."""
    bounds = period_on(account=account, day=day)
    if bounds is not None:
        return bounds
    schedules = active_schedules(account=account)
    if schedule_in_force(schedules, day) is None:
        schedules = sorted(
            [*schedules, first_purchase_schedule(day)], key=lambda s: s.effective_from
        )
    bounds = cut_period(schedules, day)
    assert bounds is not None  # a schedule is in force by construction
    return bounds


def overage_period_on(*, account: CreditAccount, created_on: date, day: date) -> PeriodBounds:
    """The period a negative balance is billed for. An account that never bought has no
    commitment period; its debt is billed monthly from the organization's creation day."""
    bounds = period_on(account=account, day=day)
    if bounds is not None:
        return bounds
    schedules = active_schedules(account=account)
    if schedule_in_force(schedules, day) is not None:
        return cut_period(schedules, day)  # type: ignore[return-value]
    return period_bounds(anchor=created_on, kind=PeriodKind.MONTHLY, on=day)


def _day(day: date, today: date) -> str:
    return f"{day:%b %-d}" if day.year == today.year else f"{day:%b %-d, %Y}"


def _span(bounds: PeriodBounds, today: date) -> str:
    return f"{_day(bounds.starts_on, today)} - {_day(bounds.ends_on, today)}"


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def cadence(schedule: Schedule) -> str:
    """'monthly from the 1st', 'yearly from Dec 1'."""
    if schedule.kind == PeriodKind.YEARLY:
        return f"yearly from {schedule.anchor_on:%b %-d}"
    day = schedule.anchor_on.day
    clamp = " (the month's last day in shorter months)" if day > 28 else ""
    return f"monthly from the {_ordinal(day)}{clamp}"


@dataclass(frozen=True)
class ScheduleChange:
    """What recording a schedule does to an account's periods, for the preview."""

    # The period holding today before and after the change (None with no timeline yet).
    current_before: PeriodBounds | None
    current_after: PeriodBounds | None
    # The first period cut by the new schedule.
    first: PeriodBounds
    sentence: str


def describe_change(*, account: CreditAccount, new: Schedule, today: date) -> ScheduleChange:
    """Say in words what recording `new` on `today` does to the account's periods."""
    schedules = active_schedules(account=account)
    schedules_after, _ = with_schedule(schedules, new, today=today)
    # The periods as the schedules in force cut them (a pending change is being replaced).
    kept = [s for s in schedules if s.effective_from <= today]
    has_timeline = period_on(account=account, day=today) is not None
    before = cut_period(kept, today) if has_timeline else None
    after = cut_period(schedules_after, today) if has_timeline else None
    first = cut_period(schedules_after, new.effective_from)
    assert first is not None
    start = _day(new.effective_from, today)
    then = f"from {start} your periods are {cadence(new)}"
    if before is None:
        sentence = f"you have no period yet; {then}"
        if new.effective_from > today:
            sentence += f" (a purchase before then opens a monthly period that ends on {start})"
    else:
        current = f"your current period ({_span(before, today)})"
        if new.effective_from == before.starts_on:
            sentence = (
                f"{current} becomes a {first.kind_label.lower()} period "
                f"({_span(first, today)}) and keeps its purchases; {then}"
            )
        elif new.effective_from < before.ends_on:
            sentence = f"{current} ends on {start}; {then}"
        elif new.effective_from == before.ends_on:
            in_force = schedule_in_force(kept, today)
            if in_force is not None and cadence(in_force) == cadence(new):
                sentence = f"{current} runs to its end and your periods stay {cadence(new)}"
            else:
                sentence = f"{current} runs to its end; {then}"
        else:
            holding = cut_period(kept, new.effective_from)
            if holding is not None and holding.starts_on == new.effective_from:
                sentence = f"{current} runs to its end and your periods run as now until {start}; {then}"
            else:
                sentence = f"{current} runs to its end; the period holding {start} ends that day; {then}"
    return ScheduleChange(before, after, first, sentence[0].upper() + sentence[1:] + ".")


def describe_termination(*, account: CreditAccount, today: date) -> str | None:
    """Say in words what terminating auto-recharge today does to the account's periods
    (the rule is `after_termination`'s)."""
    has_periods = CommitmentPeriod.objects.filter(account=account).exists()
    kept, replaced, monthly = after_termination(
        active_schedules(account=account), today=today, has_periods=has_periods
    )
    if not has_periods:
        return "You have no commitment period yet: your first purchase starts monthly periods from its day."
    current = cut_period(kept, today)
    in_force = schedule_in_force(kept, today)
    if current is None or in_force is None or monthly is None:
        return None
    sentence = f"Your current period ({_span(current, today)}) runs to its end"
    if cadence(in_force) == cadence(monthly):
        sentence += f" and your periods stay {cadence(monthly)}"
    else:
        sentence += f"; from {_day(monthly.effective_from, today)} your periods are {cadence(monthly)}"
    if replaced:
        # A plan saved but not in force yet: its periods never start.
        sentence += f"; the change planned for {_day(replaced[-1].effective_from, today)} is dropped"
    return sentence + "."
