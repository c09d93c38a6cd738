"""Program reads: which grants cover an organization and which models they make free."""

import calendar
from datetime import date, datetime

from django.db.models import Q

from accounts.models import Organization
from credits.models import ApiModel, ProgramGrant


def program_free_model_ids(*, organization: Organization, at: datetime) -> set[int]:
    """Models whose usage at `at` is free for the organization under a program grant."""
    return set(
        ApiModel.objects.filter(
            program_grants__organization=organization,
            program_grants__starts_at__lte=at,
            program_grants__ends_at__gt=at,
        )
        .filter(Q(program_grants__revoked_at__isnull=True) | Q(program_grants__revoked_at__gt=at))
        .values_list("pk", flat=True)
    )


def active_program_grants(*, organization: Organization, at: datetime) -> list[ProgramGrant]:
    """Grants covering the organization at `at`, for the credit page (soonest end first)."""
    return list(
        ProgramGrant.objects.filter(organization=organization, starts_at__lte=at, ends_at__gt=at)
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=at))
        .prefetch_related("api_models")
        .order_by("ends_at")
    )


def organizations_with_program_grants(*, organization_ids: set[int]) -> set[int]:
    """Which of these organizations hold any program grant at all (past, present or future)."""
    return set(
        ProgramGrant.objects.filter(organization_id__in=organization_ids).values_list(
            "organization_id", flat=True
        )
    )


def one_year_after[When: (date, datetime)](moment: When) -> When:
    """The same date and time a year later; 29 February becomes 28 February."""
    year = moment.year + 1
    day = min(moment.day, calendar.monthrange(year, moment.month)[1])
    return moment.replace(year=year, day=day)
