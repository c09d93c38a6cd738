"""Program reads: which grants cover an organization and which models they make free."""

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q

from accounts.models import Organization
from credits.models import ProgramGrant
from credits.selectors.process_cache import cached_catalog, cached_program_organization_ids


def active_program_grants(*, organization: Organization, at: datetime) -> list[ProgramGrant]:
    """Grants covering the organization at `at`, for the credit page (soonest end first)."""
    return list(
        ProgramGrant.objects.filter(organization=organization, starts_at__lte=at, ends_at__gt=at)
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=at))
        .prefetch_related("api_models")
        .order_by("ends_at")
    )


@dataclass(frozen=True)
class ProgramCoverage:
    """One program grant's dates and models, to decide many events without a query each."""

    starts_at: datetime
    ends_at: datetime
    revoked_at: datetime | None
    model_ids: frozenset[int]

    def covers(self, *, api_model_id: int, at: datetime) -> bool:
        return (
            api_model_id in self.model_ids
            and self.starts_at <= at < self.ends_at
            and (self.revoked_at is None or self.revoked_at > at)
        )


def program_coverage(*, organization_ids: set[int]) -> dict[int, list[ProgramCoverage]]:
    """Every program grant (past, present or future) of these organizations with its models,
    in one query; organizations without a grant are absent."""
    rows = ProgramGrant.objects.filter(organization_id__in=organization_ids).values_list(
        "pk", "organization_id", "starts_at", "ends_at", "revoked_at", "api_models__id"
    )
    grants: dict[int, tuple[int, datetime, datetime, datetime | None, set[int]]] = {}
    for pk, organization_id, starts_at, ends_at, revoked_at, model_id in rows:
        grant = grants.setdefault(pk, (organization_id, starts_at, ends_at, revoked_at, set()))
        if model_id is not None:
            grant[4].add(model_id)
    coverage: dict[int, list[ProgramCoverage]] = {}
    for organization_id, starts_at, ends_at, revoked_at, model_ids in grants.values():
        coverage.setdefault(organization_id, []).append(
            ProgramCoverage(starts_at, ends_at, revoked_at, frozenset(model_ids))
        )
    return coverage



@dataclass(frozen=True)
class ActiveProgram:
    ends_at: datetime
    model_names: list[str]


def active_programs(*, organization: Organization, at: datetime) -> list[ActiveProgram]:
    """What the credit page says of the organization's program grants covering `at` (soonest
    end first): one query on the grant-model links, model names from the cached catalog.
    A grant covering no model makes nothing free and is left out. No query for an
    organization that never held a grant (cached in-process: a grant just approved shows
    within PROCESS_CACHE_SECONDS, as it prices usage)."""
    if organization.pk not in cached_program_organization_ids():
        return []
    links = (
        ProgramGrant.api_models.through.objects.filter(
            programgrant__organization=organization,
            programgrant__starts_at__lte=at,
            programgrant__ends_at__gt=at,
        )
        .filter(Q(programgrant__revoked_at__isnull=True) | Q(programgrant__revoked_at__gt=at))
        .order_by("programgrant__ends_at", "programgrant_id")
        .values_list("programgrant_id", "programgrant__ends_at", "apimodel_id")
    )
    names = {model.pk: model.name for model in cached_catalog().values()}
    programs: dict[int, ActiveProgram] = {}
    for grant_id, ends_at, model_id in links:
        program = programs.setdefault(grant_id, ActiveProgram(ends_at, []))
        program.model_names.append(names.get(model_id, ""))
    return list(programs.values())


def one_year_after[When: (date, datetime)](moment: When) -> When:
    """The same date and time a year later; 29 February becomes 28 February."""
    year = moment.year + 1
    day = min(moment.day, calendar.monthrange(year, moment.month)[1])
    return moment.replace(year=year, day=day)
