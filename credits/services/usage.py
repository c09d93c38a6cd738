"""Usage ingest: validating a batch from the API platform, pricing it, recording its events,
debiting it once per lot and model, and keeping the daily rollups (API keys: api_keys.py)."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from datetime import timezone as dt_timezone

from django.db import connection, transaction
from django.db.models import Case, Value, When

from accounts.models import Organization
from credits.exceptions import InvalidUsageBatch
from credits.models import ApiKey, ApiModel, ModelKind, UsageEvent, UsageRollup
from credits.money import price_micros
from credits.selectors.process_cache import cached_catalog
from credits.selectors.programs import program_coverage
from credits.services import ledger

MAX_BATCH_EVENTS = 1_000
# Far above any real call; keeps a typo from overflowing a 64-bit column in pricing.
MAX_QUANTITY = 10**12
# Which quantity fields a model kind is priced by; any other quantity is refused so a
# mislabelled event is never silently recorded at zero cost.
QUANTITY_FIELDS = {
    ModelKind.LLM: ("input_tokens", "output_tokens"),
    ModelKind.EMBEDDING: ("input_tokens",),
    ModelKind.DOCUMENT: ("pages",),
}
ALL_QUANTITY_FIELDS = ("input_tokens", "output_tokens", "pages")


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


def _is_integer(value: object) -> bool:
    # JSON true is a Python bool, which is an int subclass; 1.0 is a float. Neither counts.
    return isinstance(value, int) and not isinstance(value, bool)


def _event_error(message: str, *, field: str, index: int, event: Mapping) -> InvalidUsageBatch:
    event_id = event.get("event_id")
    return InvalidUsageBatch(
        message,
        field=field,
        index=index,
        event_id=event_id if isinstance(event_id, str) else None,
    )


def _parse_timestamp(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    # A time without an offset is ambiguous by up to a day, and prices depend on it.
    return moment if moment.tzinfo is not None else None


def _parse_event(
    event: object, *, index: int, models: dict[str, ApiModel], organization_ids: set[int]
) -> UsageInput:
    if not isinstance(event, Mapping):
        raise InvalidUsageBatch("Each event must be a JSON object.", field="events", index=index)
    event_id = event.get("event_id")
    # PostgreSQL text cannot hold NUL: refused here, not as a 500 at insert time.
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > 128 or "\x00" in event_id:
        raise _event_error(
            "event_id must be a non-empty string of at most 128 characters, without NUL.",
            field="event_id",
            index=index,
            event=event,
        )
    organization_id = event.get("organization")
    if not _is_integer(organization_id) or organization_id not in organization_ids:
        raise _event_error(
            "organization must be the id of an existing organization.",
            field="organization",
            index=index,
            event=event,
        )
    api_model = models.get(event.get("model")) if isinstance(event.get("model"), str) else None
    if api_model is None:
        raise _event_error(
            "model must be the slug of a model in the catalog.", field="model", index=index, event=event
        )
    priced_by = QUANTITY_FIELDS[ModelKind(api_model.kind)]
    quantities = {}
    for field in ALL_QUANTITY_FIELDS:
        if field not in event:
            continue
        value = event[field]
        if field not in priced_by:
            raise _event_error(
                f"{api_model.slug} is not priced by {field}; send {' or '.join(priced_by)}.",
                field=field,
                index=index,
                event=event,
            )
        if not _is_integer(value) or not 0 <= value <= MAX_QUANTITY:
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
    occurred_at = _parse_timestamp(event.get("occurred_at"))
    if occurred_at is None:
        raise _event_error(
            "occurred_at must be an ISO 8601 time with an offset, e.g. 2026-01-31T12:00:00Z.",
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


def validate_usage_batch(*, payload: object) -> list[UsageInput]:
    """The whole batch checked before anything is written; the first fault is raised."""
    events = payload.get("events") if isinstance(payload, Mapping) else None
    if not isinstance(events, list):
        raise InvalidUsageBatch('The body must be {"events": [...]}.', field="events")
    if not 1 <= len(events) <= MAX_BATCH_EVENTS:
        raise InvalidUsageBatch(
            f"A batch holds 1 to {MAX_BATCH_EVENTS} events; this one has {len(events)}.",
            field="events",
            code="batch_size",
        )
    # One query for the whole batch, whatever its size (the catalog is cached in-process).
    models = cached_catalog()
    # Filtered before the set (a list or object sent as the id is unhashable) and to the
    # 64-bit range (no such id exists, and SQLite raises OverflowError when asked).
    wanted = [e.get("organization") for e in events if isinstance(e, Mapping)]
    wanted_ids = {value for value in wanted if _is_integer(value) and 0 < value < 2**63}
    organization_ids = set(
        Organization.objects.filter(pk__in=wanted_ids).values_list("pk", flat=True)
    )
    parsed = []
    seen: set[str] = set()
    for index, event in enumerate(events):
        usage = _parse_event(event, index=index, models=models, organization_ids=organization_ids)
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


def price_usage(*, api_model: ApiModel, input_tokens: int, output_tokens: int, pages: int) -> int:
    """The catalog price of one call in micro-dollars. Input and output are rounded each on
    its own (half-up, money.price_micros), as a statement lists them."""
    return (
        price_micros(input_tokens, api_model.input_micros_per_million)
        + price_micros(output_tokens, api_model.output_micros_per_million)
        + pages * api_model.page_micros
    )



@dataclass(frozen=True)
class UsageBatchResult:
    accepted: list[str]
    duplicates: list[str]
    # organization id -> balance in micro-dollars after this batch.
    balances: dict[int, int]


def _price_and_cover(events: list[UsageInput]) -> list[tuple[int, bool]]:
    """(cost in micro-dollars, free) per event. Program grants are read once for the batch
    (one query, usually empty) and decided here per event, without a query each."""
    coverage = program_coverage(organization_ids={usage.organization_id for usage in events})
    priced = []
    for usage in events:
        grants = coverage.get(usage.organization_id, ())
        free = any(
            grant.covers(api_model_id=usage.api_model.pk, at=usage.occurred_at) for grant in grants
        )
        cost = 0 if free else price_usage(
            api_model=usage.api_model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            pages=usage.pages,
        )
        priced.append((cost, free))
    return priced


_EVENT_COLUMNS = (
    "event_id", "organization_id", "api_model_id", "input_tokens", "output_tokens", "pages",
    "occurred_at", "recorded_at", "cost_micros", "free", "batch", "api_key_id",
)


def _insert_new_events(
    *,
    events: list[UsageInput],
    priced: list[tuple[int, bool]],
    batch: uuid.UUID,
    api_key: ApiKey | None,
    now: datetime,
) -> dict[str, int]:
    """Insert the events in one statement, skipping ids already recorded; returns the primary
    key of each event this statement really inserted, by event id.

    `INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING` on PostgreSQL and SQLite
    (3.35+) alike: the unique index decides, even against a concurrent batch for another
    organization carrying the same id, and no second read is needed to learn what was new."""
    ops = connection.ops
    recorded_at = ops.adapt_datetimefield_value(now)
    batch_value = UsageEvent._meta.get_field("batch").get_db_prep_value(batch, connection)
    api_key_id = api_key.pk if api_key is not None else None
    rows: list[object] = []
    for usage, (cost, free) in zip(events, priced, strict=True):
        rows += (
            usage.event_id, usage.organization_id, usage.api_model.pk, usage.input_tokens,
            usage.output_tokens, usage.pages, ops.adapt_datetimefield_value(usage.occurred_at),
            recorded_at, cost, free, batch_value, api_key_id,
        )
    table = ops.quote_name(UsageEvent._meta.db_table)
    placeholders = "(" + ", ".join(["%s"] * len(_EVENT_COLUMNS)) + ")"
    sql = (
        f"INSERT INTO {table} ({', '.join(_EVENT_COLUMNS)}) VALUES "
        + ", ".join([placeholders] * len(events))
        + " ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, rows)
        return {event_id: pk for pk, event_id in cursor.fetchall()}


def _link_events_to_entries(*, event_pks_by_entry: dict[int, list[int]]) -> None:
    """Point each debited event at its entry: one UPDATE with a branch per entry, not per event."""
    if not event_pks_by_entry:
        return
    every = [pk for pks in event_pks_by_entry.values() for pk in pks]
    UsageEvent.objects.filter(pk__in=every).update(
        ledger_entry_id=Case(
            *[When(pk__in=pks, then=Value(entry)) for entry, pks in event_pks_by_entry.items()]
        )
    )


def _upsert_rollups(*, new_events: list[tuple[UsageInput, int]]) -> None:
    """Add the new events to their (organization, UTC day, model) rollups in one statement.

    Runs under the organizations' account locks, so two batches never add to one rollup at
    once; `ON CONFLICT ... DO UPDATE` adds to a row that exists and creates one that does not."""
    sums: dict[tuple[int, date, int], list[int]] = {}
    for usage, cost in new_events:
        day = usage.occurred_at.astimezone(dt_timezone.utc).date()
        row = sums.setdefault((usage.organization_id, day, usage.api_model.pk), [0, 0, 0, 0, 0])
        row[0] += 1
        row[1] += usage.input_tokens
        row[2] += usage.output_tokens
        row[3] += usage.pages
        row[4] += cost
    if not sums:
        return
    ops = connection.ops
    table = ops.quote_name(UsageRollup._meta.db_table)
    added = ("calls", "input_tokens", "output_tokens", "pages", "cost_micros")
    params: list[object] = []
    for (organization_id, day, api_model_id), values in sums.items():
        params += (organization_id, ops.adapt_datefield_value(day), api_model_id, *values)
    sql = (
        f"INSERT INTO {table} (organization_id, day, api_model_id, {', '.join(added)}) VALUES "
        + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(sums))
        + " ON CONFLICT (organization_id, day, api_model_id) DO UPDATE SET "
        + ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in added)
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def usage_committed(*, organization_ids: list[int], now: datetime) -> None:
    """What follows a committed usage batch, outside its transaction and its locks: the one
    place to call post-usage reactions from (low-balance and budget alerts, issue #15).
    Nothing reacts yet."""


@transaction.atomic
def record_usage_batch(
    *, events: list[UsageInput], api_key: ApiKey | None, now: datetime
) -> UsageBatchResult:
    """Record and debit a validated batch; events whose id was recorded before are skipped.

    One transaction: the organizations' accounts locked in one statement (in organization
    order, so batches never deadlock), the events inserted skipping known ids, one ledger
    entry per lot and model for the new ones (SPEC "Money": usage is kept per call and
    debited per batch), each event linked to its entry, and the daily rollups upserted.
    About ten statements whatever the number of events or organizations; none per event."""
    organization_ids = sorted({usage.organization_id for usage in events})
    accounts = ledger.lock_accounts(organization_ids=organization_ids)
    batch = uuid.uuid4()
    priced = _price_and_cover(events)
    inserted = _insert_new_events(events=events, priced=priced, batch=batch, api_key=api_key, now=now)
    new = [
        (usage, cost)
        for usage, (cost, _free) in zip(events, priced, strict=True)
        if usage.event_id in inserted
    ]
    charged_on = ledger.draw_usage_batch(
        accounts=accounts,
        charges=[
            ledger.UsageCharge(
                organization_id=usage.organization_id,
                api_model=usage.api_model,
                cost_micros=cost,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                pages=usage.pages,
            )
            for usage, cost in new
        ],
        reference=str(batch),
        now=now,
    )
    event_pks_by_entry: dict[int, list[int]] = {}
    for (usage, _cost), entry in zip(new, charged_on, strict=True):
        if entry is not None:
            event_pks_by_entry.setdefault(entry.pk, []).append(inserted[usage.event_id])
    _link_events_to_entries(event_pks_by_entry=event_pks_by_entry)
    _upsert_rollups(new_events=new)
    if new:
        debited = sorted({usage.organization_id for usage, _cost in new})
        transaction.on_commit(lambda: usage_committed(organization_ids=debited, now=now))
    return UsageBatchResult(
        accepted=[usage.event_id for usage in events if usage.event_id in inserted],
        duplicates=[usage.event_id for usage in events if usage.event_id not in inserted],
        balances={pk: account.balance_micros for pk, account in accounts.items()},
    )
