"""The ledger read: spend order of lots, entries for statements, invariant checks."""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db.models import Case, F, IntegerField, Q, QuerySet, Subquery, Sum, Value, When

from accounts.models import Organization
from billing_portal.compiled_queries import Read
from credits.models import CreditAccount, CreditLot, LedgerEntry, LotKind
from credits.selectors.tiers import timeline_violations
from credits.selectors.usage import day_start

# Spend order: whatever expires first; among lots that never expire, grants before paid
# credits, so money the customer paid for is used last.
_KIND_ORDER = Case(
    When(kind=LotKind.BONUS, then=Value(0)),
    When(kind=LotKind.GRANT, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def credit_account_of(*, organization: Organization) -> CreditAccount:
    """The organization's account. It exists from the organization's creation on
    (credits.services.ledger.credit_account_create), so reading it never writes."""
    return CreditAccount.objects.get(organization=organization)


def spendable_lots(*, account: CreditAccount, now: datetime):
    """Lots that can pay for usage now, in the order they are drawn."""
    return (
        CreditLot.objects.filter(account=account, remaining_micros__gt=0)
        .exclude(kind=LotKind.OVERAGE)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by(F("expires_at").asc(nulls_last=True), _KIND_ORDER, "pk")
    )


@dataclass
class UsageLots:
    """One locked account's lots as a usage batch draws them: spendable in spend order, and
    its overage lot if it has one yet."""

    spendable: list[CreditLot] = field(default_factory=list)
    overage: CreditLot | None = None


def _usage_lots_query(*, account_ids: list[int], now: datetime) -> QuerySet[CreditLot]:
    return (
        CreditLot.objects.filter(account_id__in=account_ids)
        .filter(
            Q(kind=LotKind.OVERAGE)
            | (
                Q(remaining_micros__gt=0)
                & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            )
        )
        .order_by("account_id", F("expires_at").asc(nulls_last=True), _KIND_ORDER, "pk")
    )


def usage_lots_read(*, account_ids: list[int], now: datetime) -> Read[dict[int, UsageLots]]:
    """The lots of several accounts a usage batch may draw from, in one query (compiled once
    per process: every usage post reads it), to run alone or with other reads."""

    def by_account(rows: list[CreditLot]) -> dict[int, UsageLots]:
        lots: dict[int, UsageLots] = {pk: UsageLots() for pk in account_ids}
        for lot in rows:
            if lot.kind == LotKind.OVERAGE:
                lots[lot.account_id].overage = lot
            else:
                lots[lot.account_id].spendable.append(lot)
        return lots

    return Read(_usage_lots_query, {"account_ids": account_ids, "now": now}, CreditLot, by_account)


def usage_lots(*, account_ids: list[int], now: datetime) -> dict[int, UsageLots]:
    """usage_lots_read, run alone."""
    return usage_lots_read(account_ids=account_ids, now=now).run()


def ledger_entries(
    *, organization: Organization, kind: str = "", start: date | None = None, end: date | None = None
) -> QuerySet[LedgerEntry]:
    """The organization's ledger, newest first, filtered by entry kind and UTC days."""
    # By the account's id (a subquery), not through a join on the organization: PostgreSQL
    # then walks the (account, created_at, id) index from the newest entry instead of the
    # whole ledger's created_at index, which passes every other organization's entries first
    # (each alone still got the slow plan on the benchmark's data; README, "Usage at scale").
    account = CreditAccount.objects.filter(organization=organization).values("pk")[:1]
    entries = LedgerEntry.objects.filter(account_id=Subquery(account))
    if kind:
        entries = entries.filter(kind=kind)
    if start is not None:
        entries = entries.filter(created_at__gte=day_start(start))
    if end is not None:
        entries = entries.filter(created_at__lt=day_start(end + timedelta(days=1)))
    return entries.select_related("lot", "api_model").order_by("-created_at", "-pk")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A position's two numbers, up to 18 digits each: a moment (µs since 1970) and an id.
_POSITION = re.compile(r"(\d{1,18})\.(\d{1,18})", re.ASCII)


def ledger_position(entry: LedgerEntry) -> str:
    """Where an entry stands in a ledger, newest first: its time (µs since 1970) and its id,
    as the ledger's links carry it ("1764403200000000.5821")."""
    return f"{(entry.created_at - _EPOCH) // timedelta(microseconds=1)}.{entry.pk}"


def _position(text: str | None) -> tuple[datetime, int] | None:
    found = _POSITION.fullmatch(text or "")
    if found is None:
        return None
    try:
        return _EPOCH + timedelta(microseconds=int(found[1])), int(found[2])
    except OverflowError:  # past the year 9999
        return None


@dataclass(frozen=True)
class LedgerPage:
    """One page of a ledger, newest first, found by position: the entries older (or newer)
    than a given one, straight off the (account, created_at, id) index. Never counted and
    never skipped through by an offset, so a page deep in a million entries reads what the
    first one reads, and usage arriving meanwhile does not shift the pages being browsed.
    One entry more than the page tells whether the ledger goes on."""

    object_list: list[LedgerEntry]
    # Where the links to the next newer and the next older page start (ledger_position);
    # None at either end of the ledger.
    newer: str | None
    older: str | None

    def __iter__(self) -> Iterator[LedgerEntry]:
        return iter(self.object_list)


def _older(entries: QuerySet[LedgerEntry], at: datetime, pk: int) -> QuerySet[LedgerEntry]:
    """The entries older than the one at (at, pk), newest first."""
    return entries.filter(Q(created_at__lte=at), Q(created_at__lt=at) | Q(pk__lt=pk))


def _newer(entries: QuerySet[LedgerEntry], at: datetime, pk: int) -> QuerySet[LedgerEntry]:
    """The entries newer than the one at (at, pk), oldest first."""
    return entries.filter(Q(created_at__gte=at), Q(created_at__gt=at) | Q(pk__gt=pk)).reverse()


def _page(shown: list[LedgerEntry], *, newer: bool, older: bool) -> LedgerPage:
    return LedgerPage(
        shown,
        ledger_position(shown[0]) if newer else None,
        ledger_position(shown[-1]) if older else None,
    )


def ledger_page(
    entries: QuerySet[LedgerEntry], *, before: str | None, after: str | None, size: int
) -> LedgerPage:
    """The page of `entries` (newest first) just older than the position `before`, else just
    newer than the position `after`, else the newest. Its Newer and Older links are there
    when entries are (one probe of the index). A position that is not one, a `before` past
    the oldest entry and an `after` within a page of the newest show the newest page, whole."""
    older_than = _position(before)
    newer_than = None if older_than else _position(after)
    if older_than is not None:
        rows = list(_older(entries, *older_than)[: size + 1])
        if rows:
            newer = _newer(entries, rows[0].created_at, rows[0].pk).exists()
            return _page(rows[:size], newer=newer, older=len(rows) > size)
    if newer_than is not None:
        rows = list(_newer(entries, *newer_than)[: size + 1])
        if len(rows) > size:
            # Read oldest first from the position on; shown newest first.
            shown = rows[:size][::-1]
            older = _older(entries, shown[-1].created_at, shown[-1].pk).exists()
            return _page(shown, newer=True, older=older)
    rows = list(entries[: size + 1])
    if not rows:
        return LedgerPage([], None, None)
    return _page(rows[:size], newer=False, older=len(rows) > size)


def ledger_invariant_violations() -> list[str]:
    """Every broken ledger rule in the database, in words; empty when the books are right.

    Three aggregate queries whatever the size of the ledger, then the period timeline
    (one query per account with periods, for its schedules)."""
    problems = []
    entry_sums = dict(
        LedgerEntry.objects.values("account_id")
        .annotate(total=Sum("amount_micros"))
        .values_list("account_id", "total")
    )
    lot_sums = dict(
        CreditLot.objects.values("account_id")
        .annotate(total=Sum("remaining_micros"))
        .values_list("account_id", "total")
    )
    for account_id, balance in CreditAccount.objects.values_list("pk", "balance_micros"):
        entries, lots = entry_sums.get(account_id, 0), lot_sums.get(account_id, 0)
        if not balance == entries == lots:
            problems.append(
                f"account {account_id}: balance {balance} != entries {entries} / lots {lots}"
            )
    lots = CreditLot.objects.annotate(entry_total=Sum("entries__amount_micros")).values_list(
        "pk", "kind", "remaining_micros", "original_micros", "entry_total"
    )
    for pk, kind, remaining, original, entry_total in lots:
        if remaining != (entry_total or 0):
            problems.append(f"lot {pk}: remaining {remaining} != its entries {entry_total}")
        if kind == LotKind.OVERAGE and remaining > 0:
            problems.append(f"lot {pk}: overage lot above zero ({remaining})")
        if kind != LotKind.OVERAGE and not 0 <= remaining <= original:
            problems.append(f"lot {pk}: {kind} lot outside 0..{original} ({remaining})")
    return problems + timeline_violations()

