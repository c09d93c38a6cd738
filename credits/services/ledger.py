"""Every change of balance: lots are granted, drawn, expired and reversed here, and only here.

Each public function runs in one transaction that first locks the organization's
CreditAccount row; every lot and entry write happens under that single lock, so two
requests for one organization serialize and there is one lock order (no deadlocks).
"""

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection, transaction

from accounts.models import Organization
from accounts.services import audit_record
from billing_portal.compiled_queries import prepared_cursor
from credits.exceptions import CreditsError, InvalidAmount
from credits.models import ApiModel, CreditAccount, CreditLot, EntryKind, LedgerEntry, LotKind
from credits.selectors.ledger import spendable_lots, usage_lots
from credits.services.locks import lock_account


def credit_account_create(*, organization: Organization) -> CreditAccount:
    """The organization's (empty) credit account, made when the organization is made.

    Why at creation, not on first use: reads (the credit page, the gateway's rate-limit GET)
    must only read. `accounts` never imports `credits`, so `accounts.services.organization_create`
    calls this through the ORGANIZATION_CREATED_HOOKS setting (project wiring); the other places
    that make organizations (program approval, the Organization admin) call it directly, and
    migration 0015 made one for every organization that existed before. Idempotent."""
    account, _ = CreditAccount.objects.get_or_create(organization=organization)
    return account


def post_entry(
    *, account: CreditAccount, lot: CreditLot, kind: str, amount_micros: int, now: datetime, **fields
) -> LedgerEntry:
    """Append one entry and move the lot's and the account's cached sums with it."""
    lot.remaining_micros += amount_micros
    lot.save(update_fields=["remaining_micros"])
    account.balance_micros += amount_micros
    account.save(update_fields=["balance_micros"])
    return LedgerEntry.objects.create(
        account=account,
        lot=lot,
        kind=kind,
        amount_micros=amount_micros,
        balance_after_micros=account.balance_micros,
        created_at=now,
        **fields,
    )


def grant_lot(
    *,
    account: CreditAccount,
    kind: str,
    amount_micros: int,
    entry_kind: str,
    now: datetime,
    expires_at: datetime | None = None,
    purchase=None,
    reason: str = "",
    created_by=None,
) -> CreditLot:
    lot = CreditLot.objects.create(
        account=account,
        kind=kind,
        original_micros=amount_micros,
        remaining_micros=0,
        expires_at=expires_at,
        purchase=purchase,
        reason=reason,
        created_at=now,
    )
    post_entry(
        account=account,
        lot=lot,
        kind=entry_kind,
        amount_micros=amount_micros,
        now=now,
        purchase=purchase,
        memo=reason,
        created_by=created_by,
    )
    return lot


def overage_lot(*, account: CreditAccount, now: datetime) -> CreditLot:
    lot, _ = CreditLot.objects.get_or_create(
        account=account,
        kind=LotKind.OVERAGE,
        defaults={"original_micros": 0, "remaining_micros": 0, "created_at": now},
    )
    return lot


def draw(
    *, account: CreditAccount, amount_micros: int, kind: str, now: datetime, **fields
) -> list[LedgerEntry]:
    """Take `amount_micros` from the account's lots; what they lack goes below zero."""
    if amount_micros <= 0:
        raise InvalidAmount("A draw is a positive amount.")
    entries = []
    left = amount_micros
    for lot in spendable_lots(account=account, now=now):
        take = min(left, lot.remaining_micros)
        entries.append(
            post_entry(account=account, lot=lot, kind=kind, amount_micros=-take, now=now, **fields)
        )
        left -= take
        if left == 0:
            return entries
    # Running out never stops API usage: the rest is owed on the overage lot.
    lot = overage_lot(account=account, now=now)
    entries.append(post_entry(account=account, lot=lot, kind=kind, amount_micros=-left, now=now, **fields))
    return entries


@dataclass(frozen=True)
class UsageCharge:
    """One priced call to debit: what it cost and the units it carries onto its entry."""

    organization_id: int
    api_model: ApiModel
    cost_micros: int
    input_tokens: int = 0
    output_tokens: int = 0
    pages: int = 0


@dataclass(frozen=True)
class UsageDraw:
    """A batch's debit, worked out under its accounts' locks; `save_usage_draw` writes it."""

    entries: list[LedgerEntry]
    lots: list[CreditLot]
    accounts: list[CreditAccount]
    # For each charge, the entry its cost began on (None when it cost nothing).
    charged_on: list[LedgerEntry | None]


@dataclass(frozen=True)
class RidingStatement:
    """A statement sent with a usage draw's write, as the same statement (PostgreSQL): its
    own CTEs first, each written `, name AS (...)`, then its main statement, which may read
    the entries just inserted from `usage_entries(id, lot_id, api_model_id)`."""

    sql: str
    params: list[Any]


def draw_usage_batch(
    *, accounts: dict[int, CreditAccount], charges: list[UsageCharge], reference: str, now: datetime
) -> UsageDraw:
    """Work out the debit of a batch of calls from locked accounts: one entry per lot drawn
    and per model. Nothing is written until `save_usage_draw`.

    Calls are drawn one after another as `draw` would (same lots, same order, same amounts
    per lot), model by model in the order each model first appears; each (lot, model) pair
    becomes one entry counting the calls that began on it. Set-based: one read of the lots,
    whatever the number of calls. `accounts` is by organization id, as
    `locks.lock_accounts` returns it."""
    charged_on: list[LedgerEntry | None] = [None] * len(charges)
    by_organization: dict[int, dict[int, list[int]]] = {}
    for index, charge in enumerate(charges):
        if charge.cost_micros < 0:
            raise InvalidAmount("A usage charge cannot be negative.")
        if charge.cost_micros:
            models = by_organization.setdefault(charge.organization_id, {})
            models.setdefault(charge.api_model.pk, []).append(index)
    if not by_organization:
        return UsageDraw(entries=[], lots=[], accounts=[], charged_on=charged_on)
    lots = usage_lots(account_ids=[accounts[pk].pk for pk in by_organization], now=now)
    entries: list[LedgerEntry] = []
    touched: dict[int, CreditLot] = {}
    for organization_id in sorted(by_organization):
        account = accounts[organization_id]
        own = lots[account.pk]
        position = 0
        first_entry = len(entries)
        for indices in by_organization[organization_id].values():
            open_entries: dict[int, LedgerEntry] = {}
            for index in indices:
                charge = charges[index]
                left = charge.cost_micros
                while left:
                    if position < len(own.spendable):
                        lot = own.spendable[position]
                        part = min(left, lot.remaining_micros)
                    else:
                        # Running out never stops API usage: the rest is owed on the overage lot.
                        own.overage = own.overage or overage_lot(account=account, now=now)
                        lot, part = own.overage, left
                    entry = open_entries.get(lot.pk)
                    if entry is None:
                        entry = open_entries[lot.pk] = LedgerEntry(
                            account=account,
                            lot=lot,
                            kind=EntryKind.USAGE,
                            amount_micros=0,
                            balance_after_micros=0,
                            created_at=now,
                            reference=reference,
                            api_model=charge.api_model,
                        )
                        entries.append(entry)
                    if charged_on[index] is None:
                        charged_on[index] = entry
                        entry.calls += 1
                        entry.input_tokens += charge.input_tokens
                        entry.output_tokens += charge.output_tokens
                        entry.pages += charge.pages
                    entry.amount_micros -= part
                    lot.remaining_micros -= part
                    touched[lot.pk] = lot
                    left -= part
                    if lot.kind != LotKind.OVERAGE and lot.remaining_micros == 0:
                        position += 1
        for entry in entries[first_entry:]:
            account.balance_micros += entry.amount_micros
            entry.balance_after_micros = account.balance_micros
    return UsageDraw(
        entries=entries,
        lots=list(touched.values()),
        accounts=[accounts[pk] for pk in sorted(by_organization)],
        charged_on=charged_on,
    )


def save_usage_draw(draw: UsageDraw, *, riding: RidingStatement | None = None) -> list[tuple]:
    """Insert a draw's entries and store the lots' and accounts' new sums.

    On PostgreSQL that is one statement, whatever the batch: the two updates and the insert
    are data-modifying CTEs of it. Its main statement is `riding` when given (the usage
    batch's events and rollups, which then cost no round trip of their own) and its rows
    are returned; without it, the statement returns the entries' keys and the entries get
    their primary keys. Elsewhere (SQLite) three set-based statements, the entries getting
    their primary keys; `riding` is PostgreSQL's only."""
    if connection.vendor != "postgresql":
        if riding is not None:
            raise ValueError("A riding statement needs PostgreSQL's data-modifying CTEs.")
        LedgerEntry.objects.bulk_create(draw.entries)
        CreditLot.objects.bulk_update(draw.lots, ["remaining_micros"])
        CreditAccount.objects.bulk_update(draw.accounts, ["balance_micros"])
        return []
    fields, ctes = _usage_draw_statement()
    rows = [
        {column: _json_value(getattr(entry, attname)) for attname, column in fields} for entry in draw.entries
    ]
    params: list[Any] = [
        [lot.pk for lot in draw.lots],
        [lot.remaining_micros for lot in draw.lots],
        [account.pk for account in draw.accounts],
        [account.balance_micros for account in draw.accounts],
        json.dumps(rows),
    ]
    main = riding.sql if riding is not None else " SELECT id, lot_id, api_model_id FROM usage_entries"
    with prepared_cursor() as cursor:
        cursor.execute(ctes + main, params + (riding.params if riding is not None else []))
        returned = cursor.fetchall()
    if riding is None:
        # A batch has one entry per lot and model, so (lot, model) names each row returned
        # whatever order PostgreSQL returns them in.
        ids = {(lot_id, api_model_id): pk for pk, lot_id, api_model_id in returned}
        for entry in draw.entries:
            entry.pk = ids[(entry.lot_id, entry.api_model_id)]
            entry._state.adding, entry._state.db = False, connection.alias
    return returned


@cache
def _usage_draw_statement() -> tuple[list[tuple[str, str]], str]:
    """The entries' (attribute, column) pairs and the CTEs of `save_usage_draw`'s statement,
    built once per process from the models (no column list to keep in step with them)."""
    quote = connection.ops.quote_name
    fields = [field for field in LedgerEntry._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(str(field.column)) for field in fields)
    record = ", ".join(f"{quote(str(field.column))} {field.db_type(connection)}" for field in fields)
    sql = (
        f"WITH lots AS (UPDATE {quote(CreditLot._meta.db_table)} AS lot SET remaining_micros = new.value"
        " FROM unnest(%s::bigint[], %s::bigint[]) AS new(id, value) WHERE lot.id = new.id),"
        f" accounts AS (UPDATE {quote(CreditAccount._meta.db_table)} AS account"
        " SET balance_micros = new.value"
        " FROM unnest(%s::bigint[], %s::bigint[]) AS new(id, value) WHERE account.id = new.id)"
        f", usage_entries AS (INSERT INTO {quote(LedgerEntry._meta.db_table)} ({columns}) SELECT {columns}"
        f" FROM json_to_recordset(%s::json) AS r({record}) RETURNING id, lot_id, api_model_id)"
    )
    return [(field.attname, str(field.column)) for field in fields], sql


def _json_value(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def settle_overage(*, account: CreditAccount, from_lot: CreditLot, now: datetime, **fields) -> int:
    """Pay a negative balance off from a new lot first; returns the micro-dollars moved."""
    debt_lot = CreditLot.objects.filter(account=account, kind=LotKind.OVERAGE, remaining_micros__lt=0).first()
    if debt_lot is None or from_lot.remaining_micros <= 0:
        return 0
    moved = min(-debt_lot.remaining_micros, from_lot.remaining_micros)
    post_entry(
        account=account, lot=from_lot, kind=EntryKind.SETTLEMENT, amount_micros=-moved, now=now, **fields
    )
    post_entry(
        account=account, lot=debt_lot, kind=EntryKind.SETTLEMENT, amount_micros=moved, now=now, **fields
    )
    return moved


@transaction.atomic
def debit_usage(
    *, organization: Organization, cost_micros: int, now: datetime, reference: str = "", memo: str = ""
) -> list[LedgerEntry]:
    """Charge one priced usage against the organization's lots, earliest expiry first."""
    account = lock_account(organization=organization)
    return draw(
        account=account,
        amount_micros=cost_micros,
        kind=EntryKind.USAGE,
        now=now,
        reference=reference,
        memo=memo,
    )


@transaction.atomic
def adjust_credits(
    *,
    organization: Organization,
    amount_micros: int,
    reason: str,
    created_by,
    now: datetime,
    expires_at: datetime | None = None,
) -> list[LedgerEntry]:
    """A staff correction: positive adds a grant lot, negative draws like usage."""
    if not reason.strip():
        raise CreditsError("An adjustment needs a reason.", code="reason_required")
    if amount_micros == 0:
        raise InvalidAmount("An adjustment cannot be zero.")
    account = lock_account(organization=organization)
    audit_record(
        actor=created_by,
        action="credit_adjustment",
        obj=account,
        before={"balance_micros": account.balance_micros},
        after={"balance_micros": account.balance_micros + amount_micros, "amount_micros": amount_micros},
        organization=organization,
        note=reason.strip(),
        now=now,
    )
    if amount_micros > 0:
        lot = grant_lot(
            account=account,
            kind=LotKind.GRANT,
            amount_micros=amount_micros,
            entry_kind=EntryKind.ADJUSTMENT,
            now=now,
            expires_at=expires_at,
            reason=reason.strip(),
            created_by=created_by,
        )
        settle_overage(account=account, from_lot=lot, now=now, created_by=created_by)
        return list(lot.entries.order_by("pk"))
    return draw(
        account=account,
        amount_micros=-amount_micros,
        kind=EntryKind.ADJUSTMENT,
        now=now,
        memo=reason.strip(),
        created_by=created_by,
    )


def expire_account_lots(*, account: CreditAccount, now: datetime) -> int:
    """Write off what is left of this (locked) account's lots past their expiry."""
    expired = 0
    lots = CreditLot.objects.filter(account=account, expires_at__lte=now, remaining_micros__gt=0).exclude(
        kind=LotKind.OVERAGE
    )
    for lot in lots.order_by("pk"):
        expired += lot.remaining_micros
        post_entry(
            account=account,
            lot=lot,
            kind=EntryKind.EXPIRY,
            amount_micros=-lot.remaining_micros,
            now=now,
            purchase_id=lot.purchase_id,
        )
    return expired


def expire_bonus_lots(*, now: datetime) -> int:
    """The job: every account with lots past expiry, one transaction each. Returns µ$ expired."""
    account_ids = (
        CreditLot.objects.filter(expires_at__lte=now, remaining_micros__gt=0)
        .exclude(kind=LotKind.OVERAGE)
        .values_list("account__organization_id", flat=True)
        .distinct()
    )
    total = 0
    for organization_id in sorted(set(account_ids)):
        with transaction.atomic():
            account = lock_account(organization=Organization(pk=organization_id))
            total += expire_account_lots(account=account, now=now)
    return total
