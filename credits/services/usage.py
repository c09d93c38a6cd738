"""Usage ingest: validating a batch from the API platform, pricing it, recording its events,
debiting it once per lot and model, and keeping the daily rollups (API keys: api_keys.py)."""

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction

from accounts.models import Organization
from credits.exceptions import InvalidUsageBatch
from credits.models import ApiKey, ApiModel, ModelKind, UsageEvent, UsageRollup
from credits.models.catalog import ALL_QUANTITY_FIELDS, QUANTITY_FIELDS
from credits.money import format_usd

# price_usage keeps its name here for the ingest; it is defined once, with the other pricing reads.
from credits.selectors.pricing import price_usage
from credits.selectors.process_cache import (
    cached_catalog,
    cached_existing_organization_ids,
    cached_program_organization_ids,
)
from credits.selectors.programs import program_coverage
from credits.services import ledger, locks
from credits.services.alerts import check_alerts

MAX_BATCH_EVENTS = 1_000
# Far above any real call (a billion tokens or pages), and far below what would overflow the
# 64-bit sums of a batch's entries or a day's rollups (a batch adds at most 10**12).
MAX_QUANTITY = 10**9
# What one event may cost at the catalog's prices ($1,000,000): a typo in a quantity or a
# price is refused, not debited. A batch then moves at most $1,000,000,000, so no entry,
# rollup or balance comes near the 64-bit limit (about $9.2 trillion).
MAX_EVENT_COST_MICROS = 10**12
EVENT_ID_MAX_LENGTH = 128
# An event id needs one character that is neither a space nor an ASCII control character
# (the same class the OpenAPI document states, so server and document agree).
_EVENT_ID_VISIBLE = re.compile(r"[^\x00-\x20\x7f]")
_EVENT_ID_SURROGATE = re.compile("[\ud800-\udfff]")


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
    # At the catalog's prices, before any program grant (`price_usage`).
    price_micros: int


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
    # PostgreSQL text cannot hold NUL, nor can UTF-8 hold half of a UTF-16 pair (JSON's
    # "\ud800" escape alone): refused here, not as a 500 at insert time.
    if (
        not isinstance(event_id, str)
        or _EVENT_ID_VISIBLE.search(event_id) is None
        or len(event_id) > EVENT_ID_MAX_LENGTH
        or "\x00" in event_id
        or _EVENT_ID_SURROGATE.search(event_id) is not None
    ):
        raise _event_error(
            "event_id must be a non-empty string of at most 128 characters, without NUL or an "
            "unpaired surrogate (\\ud800-\\udfff).",
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
    input_tokens = quantities.get("input_tokens", 0)
    output_tokens = quantities.get("output_tokens", 0)
    pages = quantities.get("pages", 0)
    price = price_usage(
        api_model=api_model, input_tokens=input_tokens, output_tokens=output_tokens, pages=pages
    )
    if price > MAX_EVENT_COST_MICROS:
        raise _event_error(
            f"This {api_model.slug} call would cost {format_usd(price)}, more than the "
            f"{format_usd(MAX_EVENT_COST_MICROS)} one call may cost; check its "
            f"{' and '.join(quantities)}.",
            field=next(iter(quantities)),
            index=index,
            event=event,
        )
    return UsageInput(
        event_id=event_id,
        organization_id=organization_id,
        api_model=api_model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        pages=pages,
        occurred_at=occurred_at,
        price_micros=price,
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
    # At most one query for the whole batch, whatever its size (the catalog and the
    # organizations already seen are cached in-process).
    models = cached_catalog()
    # Filtered before the set (a list or object sent as the id is unhashable) and to the
    # 64-bit range (no such id exists, and SQLite raises OverflowError when asked).
    wanted = [e.get("organization") for e in events if isinstance(e, Mapping)]
    wanted_ids = {value for value in map(_as_integer, wanted) if value is not None and 0 < value < 2**63}
    organization_ids = cached_existing_organization_ids(wanted=wanted_ids)
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


def _price_and_cover(events: list[UsageInput]) -> list[tuple[int, bool]]:
    """(cost in micro-dollars, free) per event. Program grants are read once for the batch
    (one query, usually empty) and decided here per event, without a query each."""
    with_programs = cached_program_organization_ids()
    wanted = {usage.organization_id for usage in events} & with_programs
    coverage = program_coverage(organization_ids=wanted) if wanted else {}
    priced = []
    for usage in events:
        grants = coverage.get(usage.organization_id, ())
        free = any(
            grant.covers(api_model_id=usage.api_model.pk, at=usage.occurred_at) for grant in grants
        )
        priced.append((0 if free else usage.price_micros, free))
    return priced


# What each event of a batch carries, then what all of them share (sent once per batch).
_EVENT_COLUMNS = (
    "event_id", "organization_id", "api_model_id", "input_tokens", "output_tokens", "pages",
    "occurred_at", "cost_micros", "free",
)
_BATCH_COLUMNS = ("recorded_at", "batch", "api_key_id")
# PostgreSQL types of those columns: a batch's events travel as one JSON parameter read
# back with json_to_recordset, not as 10,000 parameters the driver would splice into the
# statement text one by one (json.dumps is C; the driver's quoting is Python). As json, not
# jsonb: the text is read once, row by row, with no binary copy built first (1,000 events:
# about 8 ms of PostgreSQL against 12.5 ms, inside the accounts' locks; 4.5 ms once the
# three columns every event shares went as three parameters instead).
_EVENT_TYPES = ("text", "bigint", "bigint", "bigint", "bigint", "bigint", "timestamptz", "bigint", "boolean")
_BATCH_TYPES = ("timestamptz", "uuid", "bigint")


def _on_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _known_event_ids(event_ids: list[str]) -> set[str]:
    """Which of these event ids were recorded before (one indexed lookup)."""
    if _on_postgresql():
        table = connection.ops.quote_name(UsageEvent._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT event_id FROM {table} WHERE event_id = ANY(%s)", [event_ids])
            return {row[0] for row in cursor.fetchall()}
    return set(UsageEvent.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True))


class _EventRecordedMeanwhile(Exception):
    """One of our event ids was recorded before this attempt looked (or, on the first
    attempt, which does not look, at all): the attempt is rolled back and made again."""


@dataclass(frozen=True)
class _BatchPlan:
    """Everything about a batch's new events that the accounts' locks do not guard: their
    prices, the charges to draw, the rollups' statement and the events' rows. It is made
    before the locks are taken, so batches of the same organizations take turns only over
    the lots' read, the draw and the write."""

    charges: list[ledger.UsageCharge]
    batch: uuid.UUID
    rollups: tuple[str, list[Any]]
    # Each event's values in _EVENT_COLUMNS order, its time as the database takes it: a JSON
    # array of objects on PostgreSQL, tuples elsewhere.
    rows: str | list[tuple]
    # The values of _BATCH_COLUMNS, the same for every event.
    shared: tuple


def _plan_batch(*, events: list[UsageInput], api_key: ApiKey | None, now: datetime) -> _BatchPlan:
    batch = uuid.uuid4()
    priced = list(zip(events, _price_and_cover(events), strict=True))
    on_postgresql = _on_postgresql()
    moment: Any = datetime.isoformat if on_postgresql else connection.ops.adapt_datetimefield_value
    rows = [
        (
            usage.event_id, usage.organization_id, usage.api_model.pk, usage.input_tokens,
            usage.output_tokens, usage.pages, moment(usage.occurred_at), cost, free,
        )
        for usage, (cost, free) in priced
    ]
    return _BatchPlan(
        charges=[
            ledger.UsageCharge(
                organization_id=usage.organization_id,
                api_model=usage.api_model,
                cost_micros=cost,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                pages=usage.pages,
            )
            for usage, (cost, _free) in priced
        ],
        batch=batch,
        rollups=_rollup_upsert(new_events=[(usage, cost) for usage, (cost, _free) in priced]),
        rows=(
            json.dumps([dict(zip(_EVENT_COLUMNS, row, strict=True)) for row in rows])
            if on_postgresql
            else rows
        ),
        shared=(
            moment(now),
            str(batch) if on_postgresql else batch.hex,
            api_key.pk if api_key is not None else None,
        ),
    )


def _insert_events(*, plan: _BatchPlan, draw: ledger.UsageDraw) -> int:
    """Write the draw, then insert the plan's events, each pointing at the entry its cost
    began on, skipping ids already recorded (`ON CONFLICT (event_id) DO NOTHING RETURNING`:
    the unique index decides, even against a concurrent batch), and add them to the daily
    rollups; returns how many events it really inserted. The caller rolls the whole attempt
    back when that is fewer than it sent, so the entries and rollups count what the events
    hold.

    On PostgreSQL all of it is one statement: the events' insert and the rollups' upsert ride
    on the draw's (`ledger.save_usage_draw`). The events' rows and the lots their costs began
    on arrive as two JSON parameters read side by side (`ROWS FROM`); each event finds its
    entry among the ones just inserted by that lot and its own model (a batch has one entry
    per lot and model, and an entry carries the model of the calls it debits)."""
    rollup_sql, rollup_params = plan.rollups
    table = connection.ops.quote_name(UsageEvent._meta.db_table)
    names = ", ".join((*_EVENT_COLUMNS, *_BATCH_COLUMNS, "ledger_entry_id"))
    if isinstance(plan.rows, str):
        lots = json.dumps([entry.lot_id if entry is not None else None for entry in draw.charged_on])
        record = ", ".join(f"{name} {kind}" for name, kind in zip(_EVENT_COLUMNS, _EVENT_TYPES, strict=True))
        values = ", ".join(
            (*(f"r.{name}" for name in _EVENT_COLUMNS), *(f"%s::{kind}" for kind in _BATCH_TYPES))
        )
        riding = ledger.RidingStatement(
            sql=(
                f", rollups AS ({rollup_sql}) "
                f"INSERT INTO {table} ({names}) SELECT {values}, usage_entries.id "
                f"FROM ROWS FROM (json_to_recordset(%s::json) AS ({record}),"
                " json_array_elements_text(%s::json))"
                f" AS r({', '.join(_EVENT_COLUMNS)}, entry_lot_id) LEFT JOIN usage_entries"
                " ON usage_entries.lot_id = r.entry_lot_id::bigint"
                " AND usage_entries.api_model_id = r.api_model_id"
                # In one order for every batch: two batches of different organizations
                # (not held by the same locks) carrying the same ids then never wait on
                # each other's uncommitted rows in a circle; the later one finds the ids
                # taken and is made again (`_EventRecordedMeanwhile`).
                ' ORDER BY r.event_id COLLATE "C" '
                "ON CONFLICT (event_id) DO NOTHING RETURNING id"
            ),
            params=[*rollup_params, *plan.shared, plan.rows, lots],
        )
        return len(ledger.save_usage_draw(draw, riding=riding))
    # SQLite (3.35+) has the same upsert and RETURNING but no data-modifying CTEs: the draw,
    # then the events (one row of values each), then the rollups.
    ledger.save_usage_draw(draw)
    row = "(" + ", ".join(["%s"] * (len(_EVENT_COLUMNS) + len(_BATCH_COLUMNS) + 1)) + ")"
    sql = (
        f"INSERT INTO {table} ({names}) VALUES {', '.join([row] * len(plan.rows))} "
        "ON CONFLICT (event_id) DO NOTHING RETURNING id"
    )
    params = [
        value
        for values, entry in zip(plan.rows, draw.charged_on, strict=True)
        for value in (*values, *plan.shared, entry.pk if entry is not None else None)
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = len(cursor.fetchall())
        cursor.execute(rollup_sql, rollup_params)
    return inserted


def _rollup_upsert(*, new_events: list[tuple[UsageInput, int]]) -> tuple[str, list[Any]]:
    """The statement adding the new events to their (organization, UTC day, model) rollups.

    Runs under the organizations' account locks, so two batches never add to one rollup at
    once; `ON CONFLICT ... DO UPDATE` adds to a row that exists and creates one that does not."""
    sums: dict[tuple[int, date, int], list[int]] = {}
    for usage, cost in new_events:
        day = usage.occurred_at.astimezone(UTC).date()
        row = sums.setdefault((usage.organization_id, day, usage.api_model.pk), [0, 0, 0, 0, 0])
        row[0] += 1
        row[1] += usage.input_tokens
        row[2] += usage.output_tokens
        row[3] += usage.pages
        row[4] += cost
    ops = connection.ops
    table = ops.quote_name(UsageRollup._meta.db_table)
    added = ("calls", "input_tokens", "output_tokens", "pages", "cost_micros")
    params: list[Any] = []
    for (organization_id, day, api_model_id), values in sums.items():
        params += (organization_id, ops.adapt_datefield_value(day), api_model_id, *values)
    sql = (
        f"INSERT INTO {table} (organization_id, day, api_model_id, {', '.join(added)}) VALUES "
        + ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(sums))
        + " ON CONFLICT (organization_id, day, api_model_id) DO UPDATE SET "
        + ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in added)
    )
    return sql, params


def usage_committed(*, organization_ids: list[int], now: datetime) -> None:
    """What follows a committed usage batch, outside its transaction and its locks: the one
    place to call post-usage reactions from. Alerts are checked once per batch and
    organization (never per call)."""
    check_alerts(organization_ids=organization_ids, now=now)


def record_usage_batch(
    *, events: list[UsageInput], api_key: ApiKey | None, now: datetime
) -> UsageBatchResult:
    """Record and debit a validated batch; events whose id was recorded before are skipped.

    One transaction: the organizations' accounts locked in one statement (in organization
    order, so batches never deadlock); one ledger entry per lot and model for the new calls
    (SPEC "Money": usage is kept per call and debited per batch); the events inserted
    pointing at their entries; the daily rollups upserted. On PostgreSQL that is three
    statements (the lock; the lots; the entries with the lot and account sums, the events
    and the rollups), each prepared once per connection, whatever the number of events or
    organizations; none per event. The events are priced and their rows built before the
    locks (`_plan_batch`): only the lots' read, the draw and the write hold them.

    The first attempt assumes every event is new, as nearly all are, and does not look the
    ids up: the unique index on event_id is what decides, always. If any id was recorded
    before (a replayed batch) or meanwhile (a batch of another organization, not held by
    our locks, carrying the same id), the insert skips it, the counts disagree, and the
    attempt is rolled back and made again with the recorded ids looked up first (and the
    plan made again for the events left). A replay thus costs a rolled-back attempt; a new
    batch costs no lookup."""
    plan = _plan_batch(events=events, api_key=api_key, now=now) if events else None
    for attempt in range(4):
        try:
            with transaction.atomic():
                result = _record_once(
                    events=events, plan=plan, api_key=api_key, now=now, look_up_known=attempt > 0
                )
        except _EventRecordedMeanwhile:
            continue
        except locks.AccountsMissing as missing:
            # Made outside the attempt (whose locks are let go by now), as at the
            # organization's creation; the next attempt locks them all in order.
            for organization_id in missing.organization_ids:
                ledger.credit_account_create(organization=Organization(pk=organization_id))
            continue
        # Robust: a failing alert must not turn an accepted batch into a 500.
        transaction.on_commit(
            partial(usage_committed, organization_ids=sorted({u.organization_id for u in events}), now=now),
            robust=True,
        )
        return result
    raise RuntimeError("Usage batch kept losing races for its event ids; retry the request.")


def _record_once(
    *,
    events: list[UsageInput],
    plan: _BatchPlan | None,
    api_key: ApiKey | None,
    now: datetime,
    look_up_known: bool,
) -> UsageBatchResult:
    organization_ids = sorted({usage.organization_id for usage in events})
    accounts = locks.lock_accounts(organization_ids=organization_ids)
    known = _known_event_ids([usage.event_id for usage in events]) if look_up_known else set()
    new = [usage for usage in events if usage.event_id not in known]
    if new:
        if plan is None or known:
            # Some were recorded before: the plan made for the whole batch no longer fits.
            plan = _plan_batch(events=new, api_key=api_key, now=now)
        draw = ledger.draw_usage_batch(
            accounts=accounts, charges=plan.charges, reference=str(plan.batch), now=now
        )
        inserted = _insert_events(plan=plan, draw=draw)
        if inserted != len(new):
            raise _EventRecordedMeanwhile
    return UsageBatchResult(
        accepted=[usage.event_id for usage in new],
        duplicates=[usage.event_id for usage in events if usage.event_id in known],
        balances={pk: account.balance_micros for pk, account in accounts.items()},
    )
