"""The ledger read: spend order of lots, entries for statements, invariant checks."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

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


# Past this a page number is past any ledger (and its offset past what a database takes).
_LAST_PAGE_NUMBER = 10**9


@dataclass(frozen=True)
class LedgerPage:
    """One page of a ledger, newest first, read without counting the ledger: the page's
    entries and one more tell whether an older page exists. (A count over an account with a
    million per-call entries took longer than everything else on the usage page.)"""

    object_list: list[LedgerEntry]
    number: int
    has_next: bool

    def __iter__(self) -> Iterator[LedgerEntry]:
        return iter(self.object_list)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def ledger_page(entries: QuerySet[LedgerEntry], *, number: str | None, size: int) -> LedgerPage:
    """Page `number` (1 when missing or not a number) of `entries`; a page past the last one
    shows the last one, which only that case counts the entries to find."""
    try:
        page = min(max(int(number or 1), 1), _LAST_PAGE_NUMBER)
    except ValueError:
        page = 1
    rows = list(entries[(page - 1) * size : page * size + 1])
    if not rows and page > 1:
        page = max(-(-entries.count() // size), 1)
        rows = list(entries[(page - 1) * size : page * size])
    return LedgerPage(rows[:size], page, len(rows) > size)


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

