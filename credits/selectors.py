"""Reads for pages and the API."""

from datetime import datetime

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
