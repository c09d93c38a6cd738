"""Bonus expiry reminders: 7 days and 1 day before a bonus lot expires, once each."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from credits.models import BonusExpiryNotice, CreditLot, LotKind
from credits.services.notifications import notify_organization

REMINDER_DAYS = (7, 1)


def send_bonus_expiry_reminders(*, now: datetime) -> int:
    """Email owners about bonus credits expiring soon; returns how many notices went out."""
    sent = 0
    for days in REMINDER_DAYS:
        due = (
            CreditLot.objects.filter(
                kind=LotKind.BONUS,
                remaining_micros__gt=0,
                expires_at__gt=now,
                expires_at__lte=now + timedelta(days=days),
            )
            .exclude(pk__in=BonusExpiryNotice.objects.filter(days_before=days).values("lot_id"))
            .select_related("account__organization")
        )
        for lot in due:
            # A smaller reminder already sent (1 day) makes the bigger one (7 days) moot.
            # (expires_at is set: the query above filtered on it.)
            if days == 7 and lot.expires_at is not None and lot.expires_at <= now + timedelta(days=1):
                continue
            sent += _send_one(lot=lot, days=days, now=now)
    return sent


def _send_one(*, lot: CreditLot, days: int, now: datetime) -> int:
    try:
        with transaction.atomic():
            BonusExpiryNotice.objects.create(lot=lot, days_before=days, sent_at=now)
            notify_organization(
                organization=lot.account.organization,
                subject=f"Bonus credits expire in {days} day{'s' if days > 1 else ''}",
                template="credits/email/bonus_expiring.txt",
                context={
                    "remaining_micros": lot.remaining_micros,
                    "expires_at": lot.expires_at,
                    "days_before": days,
                },
            )
    except IntegrityError:
        # Another run sent this one at the same moment.
        return 0
    return 1
