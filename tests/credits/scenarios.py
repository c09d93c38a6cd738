"""Building blocks of usage scenarios: purchases, grants and events as the platform sends them."""

from datetime import datetime

from django.utils import timezone

from credits.models import Purchase
from credits.services import ledger, purchases


def buy(organization, *, amount_cents: int, now: datetime, key: str | None = None) -> Purchase:
    """A paid purchase: a paid lot and, from $100, a bonus lot expiring at period end."""
    purchase = purchases.purchase_create(
        organization=organization,
        amount_cents=amount_cents,
        key=key or f"test-{organization.pk}-{amount_cents}-{now.isoformat()}",
        created_by=None,
        refund_policy_version="test",
        refund_policy_accepted_at=now,
        now=now,
    )
    return purchases.record_purchase(purchase_id=purchase.pk, now=now)


def grant(organization, *, amount_micros: int, now: datetime, expires_at=None):
    """A staff grant lot."""
    return ledger.adjust_credits(
        organization=organization,
        amount_micros=amount_micros,
        reason="test grant",
        created_by=None,
        now=now,
        expires_at=expires_at,
    )


def event(event_id: str, organization, *, model="solar-pro-2", at: datetime | None = None, **units):
    """One usage event as the platform sends it (1,000 input tokens unless told)."""
    if not units:
        units = {"input_tokens": 1_000}
    return {
        "event_id": event_id,
        "organization": organization.pk,
        "model": model,
        "occurred_at": (at or timezone.now()).isoformat(),
        **units,
    }



def record_usage(organization, calls: list[tuple[str, dict]], *, at: datetime, now: datetime | None = None):
    """Record one batch through the usage service: (model, units) per call, ids made unique."""
    from credits.services.usage import record_usage_batch, validate_usage_batch

    global _recorded
    events = []
    for model, units in calls:
        _recorded += 1
        events.append(event(f"scenario-{_recorded}", organization, model=model, at=at, **units))
    return record_usage_batch(
        events=validate_usage_batch(payload={"events": events}), api_key=None, now=now or at
    )


_recorded = 0
