"""Alerts the customer set: low balance (once per crossing) and the monthly usage budget
(once per level per month). Checked after usage commits and by the jobs; never per call."""

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from accounts.models import Organization
from credits.models import (
    AlertKind,
    AlertSent,
    AlertSettings,
    CreditAccount,
    LowBalanceMode,
)
from credits.money import format_usd
from credits.selectors.alerts import (
    balance_reached_since,
    budget_level,
    latest_entry_at,
    low_balance_reading,
    month_start,
    month_start_at,
    rearm_level_micros,
    usage_since_micros,
)
from credits.selectors.ledger import credit_account_of
from credits.selectors.process_cache import cached_alert_organization_ids
from credits.services.notifications import BILLING_ROLES, notify_organization

logger = logging.getLogger(__name__)


def _watched() -> Q:
    return ~Q(low_balance_mode=LowBalanceMode.OFF) | Q(budget_micros__isnull=False)


def check_alerts(*, organization_ids: Iterable[int], now: datetime) -> int:
    """Send the alerts these organizations are due; returns how many went out. No query
    when none of them asked for alerts (the common case after a usage batch): which
    organizations did is cached in-process (credits.selectors.process_cache)."""
    wanted = sorted(set(organization_ids) & cached_alert_organization_ids())
    if not wanted:
        return 0
    watched = AlertSettings.objects.filter(_watched(), organization_id__in=wanted)
    return _check_each(watched, now=now)


def check_all_alerts(*, now: datetime) -> int:
    """The job: every organization with an alert set (catches what no usage batch did,
    e.g. a balance that only changed by bonus expiry, or a new month)."""
    return _check_each(AlertSettings.objects.filter(_watched()), now=now)


def _check_each(watched, *, now: datetime) -> int:
    """One organization's alerts at a time; one that raises is logged and the others are
    still checked (the job and the next batch try it again)."""
    sent = 0
    for pk in watched.order_by("pk").values_list("pk", flat=True):
        try:
            sent += _check_one(settings_id=pk, now=now)
        except Exception:
            logger.exception("alert settings %s could not be checked", pk)
    return sent


@transaction.atomic
def _check_one(*, settings_id: int, now: datetime) -> int:
    # The settings row's lock makes two checks at once (two batches, a batch and the job)
    # take turns, so the second sees the first's "already sent".
    settings = AlertSettings.objects.select_for_update().select_related("organization").get(pk=settings_id)
    account = credit_account_of(organization=settings.organization)
    sent = _check_low_balance(settings, account, now) + _check_budget(settings, account, now)
    settings.save(update_fields=["low_balance_below", "budget_month", "budget_level_sent"])
    return sent


def _check_low_balance(settings: AlertSettings, account: CreditAccount, now: datetime) -> int:
    if settings.low_balance_mode == LowBalanceMode.OFF:
        return 0
    reading = low_balance_reading(settings=settings, account=account, now=now)
    if settings.low_balance_below:
        if not (reading.rearmed or _rose_since_last_alert(settings, account)):
            return 0
        # Back clearly above since the last alert: the next crossing alerts again,
        # including one that already happened since then.
        settings.low_balance_below = False
    if not reading.below:
        return 0
    settings.low_balance_below = True
    if settings.low_balance_mode == LowBalanceMode.DAYS:
        left = reading.days_left or 0
        lasts = "Less than a day" if left == 0 else f"About {left} day{'s' if left != 1 else ''}"
        summary = (
            f"{lasts} of usage left at the current rate (alert below "
            f"{settings.low_balance_days} days); balance {format_usd(reading.balance_micros)}."
        )
    else:
        summary = (
            f"Balance {format_usd(reading.balance_micros)}, below your alert at "
            f"{format_usd(settings.low_balance_threshold_micros)}."
        )
    # Stamped no earlier than the ledger the balance was read from: the job's `now` is taken
    # when its run starts, and entries written since (the batch that crossed, whose first
    # entries stood above the re-arm level) must not count as the balance going back up.
    latest = latest_entry_at(account_id=account.pk)
    _send(settings, kind=AlertKind.LOW_BALANCE, level=0, month=None, balance=reading.balance_micros,
          summary=summary, now=max(now, latest) if latest else now,
          subject=f"Low balance: {format_usd(reading.balance_micros)} left")
    return 1


def _rose_since_last_alert(settings: AlertSettings, account: CreditAccount) -> bool:
    if settings.low_balance_mode != LowBalanceMode.AMOUNT:
        return False
    last = (
        AlertSent.objects.filter(organization_id=settings.organization_id, kind=AlertKind.LOW_BALANCE)
        .values_list("sent_at", flat=True)
        .first()
    )
    return last is not None and balance_reached_since(
        account_id=account.pk,
        since=last,
        level_micros=rearm_level_micros(settings.low_balance_threshold_micros),
    )


def _check_budget(settings: AlertSettings, account: CreditAccount, now: datetime) -> int:
    if settings.budget_micros is None:
        return 0
    month = month_start(now)
    if settings.budget_month != month:
        settings.budget_month, settings.budget_level_sent = month, 0
    used = usage_since_micros(account_id=account.pk, since=month_start_at(now))
    level = budget_level(used_micros=used, budget_micros=settings.budget_micros)
    if level <= settings.budget_level_sent:
        return 0
    settings.budget_level_sent = level
    if AlertSent.objects.filter(
        organization_id=settings.organization_id, kind=AlertKind.BUDGET, month=month, level=level
    ).exists():
        # Sent this month already, before the budget was changed: one e-mail per level and
        # month (the next level still alerts).
        return 0
    summary = (
        f"{format_usd(used)} used in {now:%B %Y}: {level}% of your monthly budget of "
        f"{format_usd(settings.budget_micros)}."
    )
    _send(settings, kind=AlertKind.BUDGET, level=level, month=month, balance=account.balance_micros,
          summary=summary, now=now, subject=f"Usage budget: {level}% used this month")
    return 1


def _send(settings: AlertSettings, *, kind: str, level: int, month, balance: int, summary: str,
          now: datetime, subject: str) -> None:
    AlertSent.objects.create(
        organization_id=settings.organization_id,
        kind=kind,
        month=month,
        level=level,
        balance_micros=balance,
        summary=summary,
        sent_at=now,
    )
    organization: Organization = settings.organization
    notify_organization(
        organization=organization,
        subject=f"{subject} ({organization.name})",
        template="credits/email/alert.txt",
        context={"summary": summary, "kind": kind},
        roles=BILLING_ROLES,
    )
