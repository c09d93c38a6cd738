"""What nearly every request reads and only staff change, cached in this process: API keys,
the model catalog, the rate-limit table, tier thresholds, the billing policy, which
organizations exist, which hold program grants and which set alerts.

The bound, documented in README "Usage at scale": a revoked key, a changed price, limit,
threshold or policy date reaches every worker at most `PROCESS_CACHE_SECONDS` (5 s by
default) after it is saved, and at once in the process that saved it (the services and the
admin call `forget_process_cache` on commit). Unknown keys are never cached, so a newly
issued key works at once everywhere. Each entry is replaced whole (dict writes are atomic
under the GIL), so threaded workers share it safely.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from accounts.models import Organization
from credits.models import (
    AlertSettings,
    ApiKey,
    ApiModel,
    BillingPolicy,
    LowBalanceMode,
    ProgramGrant,
    RateLimit,
    TierThreshold,
)
from credits.models.usage import hash_api_key

# Bounded so a flood of distinct valid keys cannot grow the process: past this, start over.
MAX_CACHED_KEYS = 1_000


@dataclass(frozen=True)
class _Cached:
    value: object
    stored_at: float


_keys: dict[str, _Cached] = {}
_tables: dict[str, _Cached] = {}
# Organizations known to exist (see cached_existing_organization_ids).
_organizations: set[int] = set()
MAX_CACHED_ORGANIZATIONS = 100_000


def _fresh(cached: _Cached | None) -> bool:
    return cached is not None and time.monotonic() - cached.stored_at < settings.PROCESS_CACHE_SECONDS


def _table[T](name: str, read: Callable[[], T]) -> T:
    cached = _tables.get(name)
    if _fresh(cached):
        return cached.value  # type: ignore[union-attr, return-value]
    value = read()
    _tables[name] = _Cached(value, time.monotonic())
    return value


def cached_api_key(*, raw_key: str) -> ApiKey | None:
    """The active key a client presented, else None (unknown and revoked alike)."""
    key_hash = hash_api_key(raw_key)
    cached = _keys.get(key_hash)
    if _fresh(cached):
        return cached.value  # type: ignore[union-attr, return-value]
    api_key = ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True).first()
    if api_key is None:
        _keys.pop(key_hash, None)
        return None
    if len(_keys) >= MAX_CACHED_KEYS:
        _keys.clear()
    _keys[key_hash] = _Cached(api_key, time.monotonic())
    return api_key


def cached_catalog() -> dict[str, ApiModel]:
    """Every model of the catalog (active or not) by slug, in catalog order, with its prices."""
    return _table(
        "catalog", lambda: {model.slug: model for model in ApiModel.objects.order_by("sort_order", "name")}
    )


def cached_rate_limits() -> dict[tuple[int, str], RateLimit]:
    """Every row of the rate-limit table by (model id, column)."""
    return _table(
        "rate_limits", lambda: {(limit.api_model_id, limit.tier): limit for limit in RateLimit.objects.all()}
    )


def cached_tier_thresholds() -> list[TierThreshold]:
    """Every tier threshold, cheapest first."""
    return _table("thresholds", lambda: list(TierThreshold.objects.order_by("min_amount_cents")))


def cached_billing_policy() -> BillingPolicy:
    return _table("policy", BillingPolicy.current)


def cached_existing_organization_ids(*, wanted: set[int]) -> set[int]:
    """Which of these organization ids exist. Only ids found are kept, and for the life of
    the process (bounded): an organization's credit account, made with it, PROTECTs it from
    deletion, so one that existed still does. An id not found is asked again each time, so
    a new organization is seen at once."""
    missing = wanted - _organizations
    if missing:
        found = set(Organization.objects.filter(pk__in=missing).values_list("pk", flat=True))
        if len(_organizations) + len(found) > MAX_CACHED_ORGANIZATIONS:
            _organizations.clear()
        _organizations.update(found)
        return (wanted - missing) | found
    return wanted


def cached_program_organization_ids() -> frozenset[int]:
    """Organizations that hold any program grant (past, present or future). Usage of every
    other organization is priced without asking about grants; a grant just approved applies
    in every worker within PROCESS_CACHE_SECONDS (at once in the approving process)."""
    return _table(
        "program_organizations",
        lambda: frozenset(ProgramGrant.objects.values_list("organization_id", flat=True).distinct()),
    )


def cached_alert_organization_ids() -> frozenset[int]:
    """Organizations with a low-balance alert or a budget set. After a usage batch only these
    are checked, so a batch of anyone else costs no alert query; an alert just saved is
    checked at once in the saving process (which forgets this cache on commit) and within
    PROCESS_CACHE_SECONDS elsewhere, and the jobs check every alert each minute anyway."""
    return _table(
        "alert_organizations",
        lambda: frozenset(
            AlertSettings.objects.exclude(low_balance_mode=LowBalanceMode.OFF, budget_micros__isnull=True)
            .values_list("organization_id", flat=True)
        ),
    )


def forget_process_cache() -> None:
    """Drop everything cached here (after a key is revoked or staff data saved; between tests)."""
    _keys.clear()
    _tables.clear()
    _organizations.clear()
