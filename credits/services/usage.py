"""Usage from the API platform: API keys, validating a batch, pricing and debiting it once."""

import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction

from accounts.models import Organization
from accounts.services import audit_record
from credits.exceptions import CreditsError, InvalidUsageBatch
from credits.models import ApiKey, ApiModel, EntryKind, ModelKind, UsageEvent
from credits.models.catalog import ALL_QUANTITY_FIELDS, QUANTITY_FIELDS
from credits.models.usage import hash_api_key

# price_usage keeps its name here for the ingest; it is defined once, with the other pricing reads.
from credits.selectors.pricing import price_usage
from credits.selectors.programs import (
    organizations_with_program_grants,
    program_free_model_ids,
)
from credits.services import ledger
from credits.services.alerts import check_alerts

MAX_BATCH_EVENTS = 1_000
# Far above any real call; keeps a typo from overflowing a 64-bit column in pricing.
MAX_QUANTITY = 10**12
API_KEY_PREFIX = "bpk_"
EVENT_ID_MAX_LENGTH = 128
# An event id needs one character that is neither a space nor an ASCII control character
# (the same class the OpenAPI document states, so server and document agree).
_EVENT_ID_VISIBLE = re.compile(r"[^\x00-\x20\x7f]")


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
    """Stop a key from working from now on; a revoked key stays revoked."""
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
    return api_key


@dataclass(frozen=True)
class UsageInput:
    """One validated event of a batch, before pricing."""

    event_id: str
    organization_id: int
    api_model: ApiModel
    input_tokens: int
    output_tokens: int
    pages: int
    occurred_at: datetime


def _as_integer(value: object) -> int | None:
    """A JSON integer, or None. JSON (and JSON Schema, which the OpenAPI document uses)
    does not tell 1.0 from 1, so a whole-valued number counts, as an int; 1.5 does not,
    and neither does true (a Python bool is an int subclass)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        # Below 2**53 a float holds every whole number exactly.
        return int(value)
    return None


def _event_error(message: str, *, field: str, index: int, event: Mapping) -> InvalidUsageBatch:
    event_id = event.get("event_id")
    return InvalidUsageBatch(
        message,
        field=field,
        index=index,
        event_id=event_id if isinstance(event_id, str) else None,
    )


# Usage is accepted from this moment on, up to a day ahead of the server's clock (clock
# skew): anything else is a client bug, and the calendar's edges (year 1 or 9999 with an
# offset) overflow when converted to UTC, or would be stored as BC dates on PostgreSQL.
EARLIEST_OCCURRED_AT = datetime(2020, 1, 1, tzinfo=UTC)
LATEST_OCCURRED_AHEAD = timedelta(days=1)


def _parse_timestamp(value: object, *, now: datetime | None) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
        # A time without an offset is ambiguous by up to a day, and prices depend on it.
        if moment.tzinfo is None:
            return None
        moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if moment < EARLIEST_OCCURRED_AT or (now is not None and moment > now + LATEST_OCCURRED_AHEAD):
        return None
    return moment


def _parse_event(
    event: object,
    *,
    index: int,
    models: dict[str, ApiModel],
    organization_ids: set[int],
    now: datetime | None,
) -> UsageInput:
    if not isinstance(event, Mapping):
        raise InvalidUsageBatch("Each event must be a JSON object.", field="events", index=index)
    event_id = event.get("event_id")
    # PostgreSQL text cannot hold NUL: refused here, not as a 500 at insert time.
    if (
        not isinstance(event_id, str)
        or _EVENT_ID_VISIBLE.search(event_id) is None
        or len(event_id) > EVENT_ID_MAX_LENGTH
        or "\x00" in event_id
    ):
        raise _event_error(
            "event_id must be a non-empty string of at most 128 characters, without NUL.",
            field="event_id",
            index=index,
            event=event,
        )
    organization_id = _as_integer(event.get("organization"))
    if organization_id is None or organization_id not in organization_ids:
        raise _event_error(
            "organization must be the id of an existing organization.",
            field="organization",
            index=index,
            event=event,
        )
    model_slug = event.get("model")
    api_model = models.get(model_slug) if isinstance(model_slug, str) else None
    if api_model is None:
        raise _event_error(
            "model must be the slug of a model in the catalog.", field="model", index=index, event=event
        )
    priced_by = QUANTITY_FIELDS[ModelKind(api_model.kind)]
    quantities = {}
    for field in ALL_QUANTITY_FIELDS:
        if field not in event:
            continue
        value = _as_integer(event[field])
        if field not in priced_by:
            raise _event_error(
                f"{api_model.slug} is not priced by {field}; send {' or '.join(priced_by)}.",
                field=field,
                index=index,
                event=event,
            )
        if value is None or not 0 <= value <= MAX_QUANTITY:
            raise _event_error(
                f"{field} must be a whole number from 0 to {MAX_QUANTITY}.",
                field=field,
                index=index,
                event=event,
            )
        quantities[field] = value
    if not quantities:
        raise _event_error(
            f"A {api_model.slug} event needs {' or '.join(priced_by)}.",
            field=priced_by[0],
            index=index,
            event=event,
        )
    occurred_at = _parse_timestamp(event.get("occurred_at"), now=now)
    if occurred_at is None:
        raise _event_error(
            "occurred_at must be an ISO 8601 time with an offset, e.g. 2026-01-31T12:00:00Z, "
            "from 2020-01-01 to one day ahead of now.",
            field="occurred_at",
            index=index,
            event=event,
        )
    return UsageInput(
        event_id=event_id,
        organization_id=organization_id,
        api_model=api_model,
        input_tokens=quantities.get("input_tokens", 0),
        output_tokens=quantities.get("output_tokens", 0),
        pages=quantities.get("pages", 0),
        occurred_at=occurred_at,
    )


def validate_usage_batch(*, payload: object, now: datetime | None = None) -> list[UsageInput]:
    """The whole batch checked before anything is written; the first fault is raised.

    The API passes the request's time as `now`, which bounds occurred_at to a day ahead;
    internal callers replaying recorded events leave it out."""
    events = payload.get("events") if isinstance(payload, Mapping) else None
    if not isinstance(events, list):
        raise InvalidUsageBatch('The body must be {"events": [...]}.', field="events")
    if not 1 <= len(events) <= MAX_BATCH_EVENTS:
        raise InvalidUsageBatch(
            f"A batch holds 1 to {MAX_BATCH_EVENTS} events; this one has {len(events)}.",
            field="events",
            code="batch_size",
        )
    # Two queries for the whole batch, whatever its size.
    models = {model.slug: model for model in ApiModel.objects.all()}
    # Filtered before the set (a list or object sent as the id is unhashable) and to the
    # 64-bit range (no such id exists, and SQLite raises OverflowError when asked).
    wanted = [e.get("organization") for e in events if isinstance(e, Mapping)]
    wanted_ids = {value for value in map(_as_integer, wanted) if value is not None and 0 < value < 2**63}
    organization_ids = set(
        Organization.objects.filter(pk__in=wanted_ids).values_list("pk", flat=True)
    )
    parsed = []
    seen: set[str] = set()
    for index, event in enumerate(events):
        usage = _parse_event(
            event, index=index, models=models, organization_ids=organization_ids, now=now
        )
        if usage.event_id in seen:
            raise InvalidUsageBatch(
                "event_id appears twice in this batch.",
                field="event_id",
                index=index,
                event_id=usage.event_id,
                code="duplicate_in_batch",
            )
        seen.add(usage.event_id)
        parsed.append(usage)
    return parsed


@dataclass(frozen=True)
class UsageBatchResult:
    accepted: list[str]
    duplicates: list[str]
    # organization id -> balance in micro-dollars after this batch.
    balances: dict[int, int]


def _usage_rows(
    *, events: list[UsageInput], batch: uuid.UUID, api_key: ApiKey | None, now: datetime
) -> list[UsageEvent]:
    # Most organizations hold no program grant: one query finds those that do, and only
    # their events ask which models were free at the event's time.
    granted = organizations_with_program_grants(
        organization_ids={usage.organization_id for usage in events}
    )
    free_models: dict[tuple[int, datetime], set[int]] = {}
    rows = []
    for usage in events:
        key = (usage.organization_id, usage.occurred_at)
        if usage.organization_id not in granted:
            free_models[key] = set()
        elif key not in free_models:
            free_models[key] = program_free_model_ids(
                organization=Organization(pk=usage.organization_id), at=usage.occurred_at
            )
        free = usage.api_model.pk in free_models[key]
        cost = 0 if free else price_usage(
            api_model=usage.api_model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            pages=usage.pages,
        )
        rows.append(
            UsageEvent(
                event_id=usage.event_id,
                organization_id=usage.organization_id,
                api_model=usage.api_model,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                pages=usage.pages,
                occurred_at=usage.occurred_at,
                recorded_at=now,
                cost_micros=cost,
                free=free,
                batch=batch,
                api_key=api_key,
            )
        )
    return rows


@transaction.atomic
def record_usage_batch(
    *, events: list[UsageInput], api_key: ApiKey | None, now: datetime
) -> UsageBatchResult:
    """Record and debit a validated batch; events whose id was recorded before are skipped.

    One transaction, one lock per organization taken in primary-key order (so two batches
    naming the same organizations never deadlock). The unique event_id index decides which
    batch owns an event: rows are inserted skipping conflicts, and only the rows this batch
    really inserted (found again by its batch token) are debited. That holds even when two
    batches for different organizations carry the same event id."""
    organization_ids = sorted({usage.organization_id for usage in events})
    accounts = {
        pk: ledger.lock_account(organization=Organization(pk=pk)) for pk in organization_ids
    }
    batch = uuid.uuid4()
    UsageEvent.objects.bulk_create(
        _usage_rows(events=events, batch=batch, api_key=api_key, now=now),
        ignore_conflicts=True,
        batch_size=MAX_BATCH_EVENTS,
    )
    inserted = {
        row.event_id: row
        for row in UsageEvent.objects.filter(batch=batch).only(
            "event_id", "organization_id", "cost_micros"
        )
    }
    draws: dict[int, list[tuple[int, dict]]] = {pk: [] for pk in organization_ids}
    for usage in events:
        row = inserted.get(usage.event_id)
        # A zero cost (free, or zero units) is recorded as an event but moves no money.
        if row is not None and row.cost_micros > 0:
            draws[usage.organization_id].append(
                (row.cost_micros, {"reference": usage.event_id, "memo": usage.api_model.name})
            )
    for pk, account in accounts.items():
        ledger.draw_many(account=account, draws=draws[pk], kind=EntryKind.USAGE, now=now)
    # Alerts are checked once per batch and organization, after the debit commits (never
    # per call); robust: a failing alert must not turn an accepted batch into a 500.
    transaction.on_commit(
        lambda: check_alerts(organization_ids=organization_ids, now=now), robust=True
    )
    return UsageBatchResult(
        accepted=[usage.event_id for usage in events if usage.event_id in inserted],
        duplicates=[usage.event_id for usage in events if usage.event_id not in inserted],
        balances={pk: account.balance_micros for pk, account in accounts.items()},
    )
