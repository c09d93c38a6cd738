"""The reads every usage post makes (its API key, the catalog), cached in this process.

The bound, documented in README "Usage at scale": a revoked key, a changed price or a new
model reaches every worker at most `INGEST_CACHE_SECONDS` (5 s by default) after it is saved,
and at once in the process that saved it (services and the admin call `forget_ingest_cache`
on commit). Unknown keys are never cached, so a newly issued key works at once everywhere.
Dict reads and writes are atomic under the GIL, so threaded workers share this safely.
"""

import time
from dataclasses import dataclass

from django.conf import settings

from credits.models import ApiKey, ApiModel
from credits.models.usage import hash_api_key

# Bounded so a flood of distinct valid keys cannot grow the process: past this, start over.
MAX_CACHED_KEYS = 1_000


@dataclass(frozen=True)
class _Cached:
    value: object
    stored_at: float


_keys: dict[str, _Cached] = {}
_catalog: dict[str, _Cached] = {}


def _fresh(cached: _Cached | None) -> bool:
    return cached is not None and time.monotonic() - cached.stored_at < settings.INGEST_CACHE_SECONDS


def cached_api_key(*, raw_key: str) -> ApiKey | None:
    """The active key a client presented, else None (unknown and revoked alike)."""
    key_hash = hash_api_key(raw_key)
    cached = _keys.get(key_hash)
    if _fresh(cached):
        return cached.value  # type: ignore[return-value]
    api_key = ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True).first()
    if api_key is None:
        _keys.pop(key_hash, None)
        return None
    if len(_keys) >= MAX_CACHED_KEYS:
        _keys.clear()
    _keys[key_hash] = _Cached(api_key, time.monotonic())
    return api_key


def cached_catalog() -> dict[str, ApiModel]:
    """Every model of the catalog by slug, with its prices."""
    cached = _catalog.get("models")
    if _fresh(cached):
        return cached.value  # type: ignore[return-value]
    models = {model.slug: model for model in ApiModel.objects.all()}
    _catalog["models"] = _Cached(models, time.monotonic())
    return models


def forget_ingest_cache() -> None:
    """Drop everything cached here (after a key is revoked or a price saved; between tests)."""
    _keys.clear()
    _catalog.clear()
