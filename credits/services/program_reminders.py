"""Program grant reminders: owners are told 30 and 7 days before their free use ends."""

from datetime import datetime, timedelta

from django.db import transaction

from accounts.models import Membership, Role
from credits.models import (
    ProgramApplication,
    ProgramGrant,
)
from credits.services.notifications import send_on_commit

# Reminder emails before a grant ends, latest first; see remind_grant_endings.
REMINDERS = ((7, "reminded_7_days_at"), (30, "reminded_30_days_at"))


def _grant_recipients(grant: ProgramGrant) -> list[str]:
    owners = sorted(
        Membership.objects.filter(organization=grant.organization, role=Role.OWNER).values_list(
            "user__email", flat=True
        )
    )
    if owners:
        return owners
    # An organization made at approval has no owner until the invitation is accepted.
    application = ProgramApplication.objects.filter(grant=grant).first()
    return [application.contact_email] if application else []


def remind_grant_endings(*, now: datetime) -> int:
    """Email owners 30 and 7 days before a grant ends, each reminder exactly once.

    Returns how many reminder emails were queued. Safe to run as often as the job runner
    likes, also twice at once: each reminder is claimed by a conditional UPDATE first.
    When both are due in one run (a grant made for less than a month, or the job was down)
    only the 7-day one goes out and the 30-day one is marked as superseded.
    """
    sent = 0
    for days, column in REMINDERS:
        due = ProgramGrant.objects.filter(
            revoked_at__isnull=True,
            ends_at__gt=now,
            ends_at__lte=now + timedelta(days=days),
            **{f"{column}__isnull": True},
        ).select_related("organization")
        for grant in due:
            sent += _remind(grant=grant, days=days, column=column, now=now)
    return sent


@transaction.atomic
def _remind(*, grant: ProgramGrant, days: int, column: str, now: datetime) -> int:
    claimed = ProgramGrant.objects.filter(pk=grant.pk, **{f"{column}__isnull": True}).update(**{column: now})
    if not claimed:
        return 0
    if days == 7:
        ProgramGrant.objects.filter(pk=grant.pk, reminded_30_days_at__isnull=True).update(
            reminded_30_days_at=now
        )
    recipients = _grant_recipients(grant)
    if not recipients:
        return 0
    send_on_commit(
        subject=f"Your free program access ends on {grant.ends_at:%B %-d, %Y}",
        template="credits/email/program_grant_ending.txt",
        context={
            "grant": grant,
            "days_left": max((grant.ends_at - now).days, 0),
            "models": list(grant.api_models.all()),
        },
        to=recipients,
    )
    return 1
