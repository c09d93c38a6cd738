"""Billing history: every charge and refund of an organization, newest first, with receipts."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce

from accounts.models import Organization
from credits.models import (
    BillingDetails,
    BillingKind,
    ChargeKind,
    ChargeStatus,
    HistoryStatus,
    Purchase,
    PurchaseSource,
    PurchaseStatus,
    Receipt,
    RefundRequest,
    RefundStatus,
)

HISTORY_PAGE_SIZE = 25


@dataclass(frozen=True)
class HistoryRow:
    at: datetime
    kind: str
    kind_label: str
    # Positive for a charge, negative for a refund (money going back to the card).
    amount_cents: int
    card: str
    status: str
    status_label: str
    # The bank's reason for a failure (and when it is retried), else "".
    reason: str
    purchase_id: int
    # The receipt's number once paid, else the purchase's reference.
    reference: str
    has_receipt: bool


def history_keys(*, organization: Organization) -> QuerySet:
    """(row kind, id, date) of every charge and refund, newest first: one SQL union that a
    paginator can count and slice without loading the whole history."""
    charges = (
        Purchase.objects.filter(organization=organization)
        .exclude(source=PurchaseSource.STAFF, granted_at__isnull=True)
        .annotate(row=Value("charge"), at=Coalesce("granted_at", "created_at"))
        .values_list("row", "pk", "at")
        .order_by()
    )
    refunds = (
        RefundRequest.objects.filter(organization=organization, status=RefundStatus.REFUNDED)
        .annotate(row=Value("refund"), at=F("reviewed_at"))
        .values_list("row", "pk", "at")
        .order_by()
    )
    return charges.union(refunds, all=True).order_by("-at", "-pk")


def _card(brand: str, last4: str) -> str:
    return f"{brand.title()} ending {last4}" if last4 else ""


def charge_kind(purchase: Purchase) -> str:
    """Purchase, auto-recharge, top-up or overage: how the history and receipts name it."""
    if purchase.source == PurchaseSource.OVERAGE:
        return BillingKind.OVERAGE
    if purchase.source == PurchaseSource.AUTO_RECHARGE:
        charge = getattr(purchase, "recharge_charge", None)
        if charge is not None and charge.kind == ChargeKind.THRESHOLD:
            return BillingKind.TOP_UP
        return BillingKind.AUTO_RECHARGE
    return BillingKind.PURCHASE


def _status(purchase: Purchase) -> tuple[str, str]:
    if purchase.status == PurchaseStatus.SUCCEEDED:
        return HistoryStatus.PAID, ""
    if purchase.status == PurchaseStatus.REFUNDED:
        return HistoryStatus.REFUNDED, ""
    if purchase.status == PurchaseStatus.REFUNDING:
        return HistoryStatus.PAID, "Refund approved; it is on its way to your card."
    if purchase.status == PurchaseStatus.FAILED:
        return HistoryStatus.FAILED, purchase.failure_message or "The payment was declined."
    charge = getattr(purchase, "recharge_charge", None)
    if charge is not None and charge.status in (ChargeStatus.FAILED, ChargeStatus.REQUIRES_ACTION):
        retry = f" We try again on {charge.next_attempt_at:%b %-d, %Y}."
        return HistoryStatus.FAILED, f"{charge.last_error}{retry}"
    if charge is not None and charge.status == ChargeStatus.GAVE_UP:
        return HistoryStatus.FAILED, charge.last_error
    if purchase.status == PurchaseStatus.REQUIRES_ACTION:
        return HistoryStatus.PENDING, "Waiting for the bank's authentication."
    return HistoryStatus.PENDING, ""


def _charge_row(purchase: Purchase) -> HistoryRow:
    kind = charge_kind(purchase)
    status, reason = _status(purchase)
    return HistoryRow(
        at=purchase.granted_at or purchase.created_at,
        kind=kind,
        kind_label=BillingKind(kind).label,
        amount_cents=purchase.amount_cents,
        card=_card(purchase.card_brand, purchase.card_last4),
        status=status,
        status_label=HistoryStatus(status).label,
        reason=reason,
        purchase_id=purchase.pk,
        reference=purchase.receipt_number,
        has_receipt=getattr(purchase, "receipt", None) is not None,
    )


def _refund_row(request: RefundRequest) -> HistoryRow:
    purchase = request.purchase
    return HistoryRow(
        at=request.reviewed_at or request.requested_at,
        kind=BillingKind.REFUND,
        kind_label=BillingKind.REFUND.label,
        amount_cents=-purchase.amount_cents,
        card=_card(purchase.card_brand, purchase.card_last4),
        status=HistoryStatus.REFUNDED,
        status_label=HistoryStatus.REFUNDED.label,
        reason="",
        purchase_id=purchase.pk,
        reference=purchase.receipt_number,
        has_receipt=getattr(purchase, "receipt", None) is not None,
    )


def history_rows(*, keys: Sequence[tuple[str, int, datetime]]) -> list[HistoryRow]:
    """The rows for one page of `history_keys`, in its order, in three queries."""
    purchase_ids = [pk for row, pk, _ in keys if row == "charge"]
    refund_ids = [pk for row, pk, _ in keys if row == "refund"]
    purchases = Purchase.objects.select_related("receipt", "recharge_charge").in_bulk(purchase_ids)
    refunds = RefundRequest.objects.select_related("purchase__receipt").in_bulk(refund_ids)
    return [
        _charge_row(purchases[pk]) if row == "charge" else _refund_row(refunds[pk])
        for row, pk, _ in keys
    ]


def all_history_rows(*, organization: Organization, chunk: int = 500) -> Iterator[HistoryRow]:
    """Every row, newest first, a chunk at a time (the CSV)."""
    keys = history_keys(organization=organization)
    start = 0
    while True:
        page = list(keys[start : start + chunk])
        yield from history_rows(keys=page)
        if len(page) < chunk:
            return
        start += chunk


def receipt_of(*, organization: Organization, purchase_id: int) -> Receipt | None:
    return (
        Receipt.objects.filter(organization=organization, purchase_id=purchase_id)
        .select_related("purchase")
        .first()
    )


def billing_details_of(*, organization: Organization) -> BillingDetails | None:
    return BillingDetails.objects.filter(organization=organization).first()
