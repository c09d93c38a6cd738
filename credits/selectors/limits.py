"""Which rate limits apply: the tier's column, Legacy while its policy holds, or Enterprise."""

from dataclasses import dataclass
from datetime import date, datetime

from accounts.models import Organization
from credits.models import (
    TIER_LIMIT_COLUMN,
    ApiModel,
    EnterpriseRateLimit,
    LimitTier,
    RateLimit,
    Tier,
)
from credits.selectors.ledger import credit_account_of
from credits.selectors.process_cache import cached_billing_policy, cached_catalog, cached_rate_limits
from credits.selectors.tiers import current_tier


class LimitSource:
    TIER = "tier"
    LEGACY = "legacy"
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class LimitRow:
    model_slug: str
    model_name: str
    requests_per_second: int
    pages_per_minute: int | None
    source: str


# The catalog, the limit table and the policy are staff data read on every page: they come
# from the in-process cache (credits/selectors/process_cache.py), at most a few seconds old.


def _column(tier: str) -> dict[int, RateLimit]:
    column = TIER_LIMIT_COLUMN[Tier(tier)]
    return {model_id: limit for (model_id, name), limit in cached_rate_limits().items() if name == column}


def _models() -> list[ApiModel]:
    return [model for model in cached_catalog().values() if model.active]


def limits_for_tier(*, tier: str, organization: Organization | None = None) -> list[LimitRow]:
    """Every active model's limits in one tier's column (Enterprise: the organization's own)."""
    column = _column(tier)
    custom = {}
    if tier == Tier.ENTERPRISE and organization is not None:
        custom = {
            limit.api_model_id: limit
            for limit in EnterpriseRateLimit.objects.filter(organization=organization)
        }
    rows = []
    for model in _models():
        limit = custom.get(model.pk) or column.get(model.pk)
        if limit is None:
            continue
        rows.append(
            LimitRow(
                model.slug,
                model.name,
                limit.requests_per_second,
                limit.pages_per_minute,
                LimitSource.ENTERPRISE if tier == Tier.ENTERPRISE else LimitSource.TIER,
            )
        )
    return rows


def legacy_applies(*, organization: Organization, now: datetime) -> bool:
    policy = cached_billing_policy()
    return (
        organization.created_at.date() < policy.legacy_created_before
        and now.date() < policy.legacy_until
    )


def current_limits(
    *, organization: Organization, now: datetime, tier: str | None = None
) -> tuple[str, list[LimitRow]]:
    """The organization's tier and its limits per model right now (`tier` when the caller
    has already read it).

    While the Legacy policy covers an organization it keeps its Legacy limits; where its
    tier already gives more on a model, the tier's figure wins (nobody is worse off for
    buying)."""
    if tier is None:
        account = credit_account_of(organization=organization)
        tier = current_tier(account=account, today=now.date())
    rows = limits_for_tier(tier=tier, organization=organization)
    if tier == Tier.ENTERPRISE or not legacy_applies(organization=organization, now=now):
        return tier, rows
    slugs = {model.pk: slug for slug, model in cached_catalog().items()}
    legacy = {
        slugs[model_id]: limit
        for (model_id, column), limit in cached_rate_limits().items()
        if column == LimitTier.LEGACY
    }
    merged = []
    for row in rows:
        old = legacy.get(row.model_slug)
        if old is not None and old.requests_per_second >= row.requests_per_second:
            row = LimitRow(
                row.model_slug,
                row.model_name,
                old.requests_per_second,
                old.pages_per_minute,
                LimitSource.LEGACY,
            )
        merged.append(row)
    return tier, merged


@dataclass(frozen=True)
class LimitTable:
    columns: list[tuple[str, str]]
    rows: list[tuple[ApiModel, list[RateLimit | None]]]
    highlighted: str | None
    # The Legacy column is shown (its policy still runs): the page explains it.
    shows_legacy: bool = False


def featured_model_slugs() -> set[str]:
    """The models staff feature (ApiModel.featured): the ones previews and summaries list."""
    return set(ApiModel.objects.filter(featured=True).values_list("slug", flat=True))


def rate_limit_table(*, organization: Organization | None, now: datetime) -> LimitTable:
    """All models by all columns; Legacy only while its policy still runs."""
    policy = cached_billing_policy()
    columns = [LimitTier.BASE, LimitTier.TIER_1, LimitTier.TIER_2, LimitTier.TIER_3]
    if now.date() < policy.legacy_until:
        columns.append(LimitTier.LEGACY)
    limits = cached_rate_limits()
    models = _models()
    highlighted = None
    if organization is not None:
        tier, rows = current_limits(organization=organization, now=now)
        if any(row.source == LimitSource.LEGACY for row in rows):
            highlighted = LimitTier.LEGACY
        else:
            highlighted = TIER_LIMIT_COLUMN[Tier(tier)]
    return LimitTable(
        columns=[(column.value, column.label) for column in columns],
        rows=[(model, [limits.get((model.pk, column)) for column in columns]) for model in models],
        highlighted=highlighted,
        shows_legacy=LimitTier.LEGACY in columns,
    )




@dataclass(frozen=True)
class LegacyNote:
    created_before: date
    until: date
    # Past the end date the page says the transition is over instead.
    ended: bool


def legacy_note(*, today: date) -> LegacyNote:
    policy = cached_billing_policy()
    return LegacyNote(
        policy.legacy_created_before, policy.legacy_until, today >= policy.legacy_until
    )


