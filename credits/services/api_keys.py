"""API keys of the machine clients: issued once (only a hash is kept) and revoked, never deleted."""

import secrets
from datetime import datetime

from django.db import transaction

from accounts.services import audit_record
from credits.exceptions import CreditsError
from credits.models import ApiKey
from credits.models.usage import hash_api_key
from credits.selectors.process_cache import forget_process_cache

API_KEY_PREFIX = "bpk_"


@transaction.atomic
def api_key_issue(*, api_key: ApiKey, created_by, now: datetime) -> str:
    """Give a new (unsaved) key its secret and save it; returns the raw key, never stored."""
    if api_key.pk is not None:
        raise CreditsError("An API key's secret is issued once.", code="api_key_exists")
    raw_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key.prefix = raw_key[: len(API_KEY_PREFIX) + 6]
    api_key.key_hash = hash_api_key(raw_key)
    api_key.created_by = created_by
    api_key.created_at = now
    api_key.full_clean()
    api_key.save()
    audit_record(
        actor=created_by, action="api_key_issue", obj=api_key, after={"prefix": api_key.prefix}, now=now
    )
    return raw_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, now: datetime, revoked_by=None) -> ApiKey:
    """Stop a key from working from now on; a revoked key stays revoked.

    This process forgets the key at once; other workers within PROCESS_CACHE_SECONDS
    (credits/selectors/process_cache.py)."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is None:
        api_key.revoked_at = now
        api_key.save(update_fields=["revoked_at"])
        audit_record(
            actor=revoked_by,
            action="api_key_revoke",
            obj=api_key,
            after={"revoked_at": now.isoformat()},
            now=now,
        )
        transaction.on_commit(forget_process_cache)
    return api_key
