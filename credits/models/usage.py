"""What the API platform reports: the keys it signs in with and every usage event it sent."""

import hashlib

from django.conf import settings
from django.db import models


def hash_api_key(raw_key: str) -> str:
    """What ApiKey.key_hash stores for a raw key."""
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(models.Model):
    """A machine client's credential; only its SHA-256 is stored, the raw key is shown once."""

    name = models.CharField(max_length=100, help_text="Who uses this key, e.g. 'gateway eu-1'.")
    # The first characters of the raw key, kept in clear so staff can tell keys apart.
    prefix = models.CharField(max_length=16, editable=False)
    # sha256 hex of the whole raw key. The key is 256 random bits, so a plain hash
    # (no salt, no slow hash) cannot be brute-forced and can be looked up by index.
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
    )
    # Keys are revoked, never deleted, so usage events keep saying who reported them.
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class UsageEvent(models.Model):
    """One priced call of the API; the platform's event id makes a repeated report a no-op."""

    # Idempotency: a unique index, so two batches carrying the same event racing each other
    # can only ever insert it once (INSERT ... ON CONFLICT DO NOTHING). Declared as a
    # constraint (Meta), not unique=True, so PostgreSQL gets no second LIKE index to write.
    event_id = models.CharField(max_length=128)
    # Indexed by (organization, occurred_at) below, which also serves lookups by organization.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="usage_events", db_index=False
    )
    # No index of its own (nothing reads events by model alone; pages read rollups): one
    # index less to write per call. Deleting a model is refused by PROTECT after a scan.
    api_model = models.ForeignKey(
        "credits.ApiModel", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    pages = models.PositiveBigIntegerField(default=0)
    # When the platform served the call (decides prices and program grants)...
    occurred_at = models.DateTimeField()
    # ...and when the portal recorded and debited it.
    recorded_at = models.DateTimeField()
    # What the event was debited, in micro-dollars; 0 when free.
    cost_micros = models.PositiveBigIntegerField()
    # Covered by an education / public-interest program grant at occurred_at.
    free = models.BooleanField(default=False)
    # The request that recorded the row; its ledger entries carry the same token as their
    # reference. Not indexed: disputes go from an entry to its events by `ledger_entry`.
    batch = models.UUIDField(editable=False)
    # Not indexed either (keys are revoked, never deleted; PROTECT scans if ever asked).
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    # The batch entry that debited this call (where its cost began, when it spans two lots).
    # Null for free or zero-cost calls, and for calls recorded before batch entries existed
    # (their entries carry the event id as reference).
    ledger_entry = models.ForeignKey(
        "credits.LedgerEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="usage_events",
    )

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["organization", "occurred_at"])]
        constraints = [
            models.UniqueConstraint(fields=["event_id"], name="usage_event_id_unique"),
            models.CheckConstraint(
                condition=models.Q(free=False) | models.Q(cost_micros=0), name="free_usage_costs_nothing"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} ({self.api_model_id}, {self.cost_micros} µ$)"


class UsageRollup(models.Model):
    """Usage of one organization and model on one UTC day: the sum of its usage events.

    Upserted in the same transaction as the events it adds (under the organization's account
    lock), so it always equals them; pages and forecasts read these rows, never the events,
    and cost as much at a million events as at ten. `check_ledger` recomputes them."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.PROTECT, related_name="+"
    )
    day = models.DateField()
    api_model = models.ForeignKey("credits.ApiModel", on_delete=models.PROTECT, related_name="+")
    # Every recorded call, free ones included.
    calls = models.PositiveBigIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    pages = models.PositiveBigIntegerField(default=0)
    cost_micros = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["organization", "day", "api_model"]
        constraints = [
            # The upsert's conflict target; its index also serves "this organization's days".
            models.UniqueConstraint(
                fields=["organization", "day", "api_model"], name="usage_rollup_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day} {self.api_model_id}: {self.calls} calls"
