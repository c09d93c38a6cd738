"""Purchases: preview before paying, the pending row before Stripe, the grant once paid."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from accounts.models import Organization
from credits.exceptions import CreditsError, InvalidAmount
from credits.models import (
    TIER_RANK,
    CreditAccount,
    CreditLot,
    EntryKind,
    LedgerEntry,
    LotKind,
    Purchase,
    PurchaseSource,
    PurchaseStatus,
    Tier,
)
from credits.models.purchases import MAX_PURCHASE_CENTS, MIN_PURCHASE_CENTS, REVERSED_STATUSES
from credits.money import cents_to_micros, format_usd
from credits.selectors.ledger import credit_account_of
from credits.selectors.limits import LimitRow, featured_model_slugs, limits_for_tier
from credits.selectors.periods import PeriodBounds, period_for_purchase, period_row_on
from credits.selectors.tiers import (
    bonus_for_amount,
    bonus_schedule,
    current_tier,
    higher_tier,
    tier_for_amount,
)
from credits.services import ledger, locks, periods
from credits.services.alerts import check_alerts
from credits.services.receipts import issue_receipt


@dataclass(frozen=True)
class PurchasePreview:
    amount_cents: int
    bonus_cents: int
    bonus_percent: Decimal
    total_micros: int
    tier_now: str
    tier_reached: str
    # Limits of the tier reached, and whether they are higher than today's.
    limits_unlocked: list[LimitRow]
    raises_tier: bool
    bonus_expires_at: datetime | None
    period_starts_on: date
    period_ends_on: date
    days_left: int
    days_in_period: int
    later_in_period_hint: str
    # The featured models' rows of limits_unlocked (ApiModel.featured, staff edit it): what the
    # auto-recharge preview lists.
    featured_limits: list[LimitRow] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return self.amount_cents + self.bonus_cents

    @property
    def tier_reached_label(self) -> str:
        return Tier(self.tier_reached).label

    @property
    def tier_now_label(self) -> str:
        return Tier(self.tier_now).label


def validate_amount(amount_cents: int) -> None:
    if amount_cents < MIN_PURCHASE_CENTS:
        raise InvalidAmount(f"The smallest purchase is {format_usd(cents_to_micros(MIN_PURCHASE_CENTS))}.")
    if amount_cents > MAX_PURCHASE_CENTS:
        raise InvalidAmount(
            f"The largest purchase is {format_usd(cents_to_micros(MAX_PURCHASE_CENTS))}; contact us for more."
        )


def _account(organization: Organization) -> CreditAccount:
    return credit_account_of(organization=organization)


def preview_for_period(
    *,
    organization: Organization,
    account: CreditAccount,
    amount_cents: int,
    bounds: PeriodBounds,
    already_cents: int,
    today: date,
    on: date,
) -> PurchasePreview:
    """What paying `amount_cents` on day `on` in the period `bounds` (which already holds
    `already_cents`) gives: bonus, the tier reached, its limits, and when the bonus expires."""
    bonus = bonus_for_amount(amount_cents=amount_cents)
    tier_now = current_tier(account=account, today=today)
    tier_reached = higher_tier(
        current_tier(account=account, today=on),
        tier_for_amount(kind=bounds.kind, purchased_cents=already_cents + amount_cents),
    )
    days_left = bounds.days_left(on)
    if bonus.cents:
        hint = (
            f"Bonus credits expire when this period ends on {bounds.ends_on:%b %-d, %Y}, "
            f"{days_left} of {bounds.days} days from now. Buying early in a period leaves "
            "the most time to use them."
        )
    else:
        schedule = bonus_schedule()
        hint = (
            f"Purchases of {format_usd(cents_to_micros(schedule.first_bonus_cents))} or more earn "
            "bonus credits, which last until the period ends."
            if schedule.first_bonus_cents is not None
            else "This purchase earns no bonus credits."
        )
    unlocked = limits_for_tier(tier=tier_reached, organization=organization)
    return PurchasePreview(
        amount_cents=amount_cents,
        bonus_cents=bonus.cents,
        bonus_percent=bonus.percent,
        total_micros=cents_to_micros(amount_cents + bonus.cents),
        tier_now=tier_now,
        tier_reached=tier_reached,
        limits_unlocked=unlocked,
        featured_limits=[row for row in unlocked if row.model_slug in featured_model_slugs()],
        raises_tier=TIER_RANK[Tier(tier_reached)] > TIER_RANK[Tier(tier_now)],
        bonus_expires_at=bounds.ends_at if bonus.cents else None,
        period_starts_on=bounds.starts_on,
        period_ends_on=bounds.ends_on,
        days_left=days_left,
        days_in_period=bounds.days,
        later_in_period_hint=hint,
    )


def preview_purchase(*, organization: Organization, amount_cents: int, now: datetime) -> PurchasePreview:
    """What paying `amount_cents` now would give: bonus, tier, limits, and the bonus expiry,
    which is the end of the period it would count in as that period stands now."""
    validate_amount(amount_cents)
    account = _account(organization)
    today = now.date()
    bounds = period_for_purchase(account=account, day=today)
    row = period_row_on(account=account, day=today)
    return preview_for_period(
        organization=organization,
        account=account,
        amount_cents=amount_cents,
        bounds=bounds,
        already_cents=row.purchased_cents if row is not None else 0,
        today=today,
        on=today,
    )


def purchase_create(
    *,
    organization: Organization,
    amount_cents: int,
    key: str,
    created_by,
    refund_policy_version: str,
    refund_policy_accepted_at: datetime | None,
    now: datetime,
    source: str = PurchaseSource.CHECKOUT,
) -> Purchase:
    """The pending purchase, written before Stripe is called; the same key returns the same row."""
    validate_amount(amount_cents)
    existing = Purchase.objects.filter(key=key).first()
    if existing is not None:
        return _same_purchase(existing, organization=organization, amount_cents=amount_cents)
    purchase = Purchase(
        organization=organization,
        key=key,
        amount_cents=amount_cents,
        bonus_cents=bonus_for_amount(amount_cents=amount_cents).cents,
        source=source,
        refund_policy_version=refund_policy_version,
        refund_policy_accepted_at=refund_policy_accepted_at,
        created_by=created_by,
        created_at=now,
    )
    purchase.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            purchase.save()
    except IntegrityError:
        # The same key submitted twice at once: the unique index let one row in.
        existing = Purchase.objects.get(key=key)
        return _same_purchase(existing, organization=organization, amount_cents=amount_cents)
    return purchase


def _same_purchase(existing: Purchase, *, organization: Organization, amount_cents: int) -> Purchase:
    if existing.organization_id != organization.pk or existing.amount_cents != amount_cents:
        raise CreditsError("This purchase key belongs to another purchase.", code="key_conflict")
    return existing


@transaction.atomic
def record_purchase(
    *,
    purchase_id: int,
    now: datetime,
    payment_intent_id: str = "",
    card_brand: str = "",
    card_last4: str = "",
) -> Purchase:
    """Grant a paid purchase's credits exactly once; later calls return it unchanged."""
    account, purchase = locks.lock_purchase(purchase_id=purchase_id)
    if purchase.granted_at is not None:
        return purchase
    if purchase.status in REVERSED_STATUSES:
        raise CreditsError("A refunded purchase cannot be granted.", code="purchase_refunded")
    today = now.date()
    # Paying off a negative balance is not buying credits: it neither anchors the
    # commitment period nor counts toward the tier (and earns no bonus).
    buys_credits = purchase.source != PurchaseSource.OVERAGE
    period = periods.period_for_new_purchase(account=account, today=today, now=now) if buys_credits else None
    paid_lot = ledger.grant_lot(
        account=account,
        kind=LotKind.PAID,
        amount_micros=cents_to_micros(purchase.amount_cents),
        entry_kind=EntryKind.PURCHASE,
        now=now,
        purchase=purchase,
    )
    if purchase.bonus_cents and buys_credits:
        # Bonus is valid only during the period it was bought in, until that period's end
        # as it stands now: the date the preview showed, kept even if the period later
        # ends sooner (a plan taking effect inside it).
        assert period is not None
        ledger.grant_lot(
            account=account,
            kind=LotKind.BONUS,
            amount_micros=cents_to_micros(purchase.bonus_cents),
            entry_kind=EntryKind.BONUS,
            now=now,
            expires_at=PeriodBounds(period.kind, period.starts_on, period.ends_on).ends_at,
            purchase=purchase,
        )
    ledger.settle_overage(account=account, from_lot=paid_lot, now=now, purchase=purchase)
    if period is not None:
        periods.count_purchase(account=account, purchase=purchase, period=period)
    purchase.status = PurchaseStatus.SUCCEEDED
    purchase.granted_at = now
    purchase.failure_message = ""
    if payment_intent_id:
        purchase.stripe_payment_intent_id = payment_intent_id
    if card_brand:
        purchase.card_brand, purchase.card_last4 = card_brand, card_last4
    purchase.save()
    # In this transaction, so the receipt number is taken only if the grant commits.
    issue_receipt(purchase=purchase, now=now)
    # A balance back up re-arms the low-balance alert (and a days-left alert may change).
    transaction.on_commit(
        lambda: check_alerts(organization_ids=[purchase.organization_id], now=now), robust=True
    )
    return purchase


@transaction.atomic
def purchase_mark_failed(*, purchase_id: int, message: str) -> Purchase:
    """A declined or abandoned payment; a purchase already granted is never touched."""
    _, purchase = locks.lock_purchase(purchase_id=purchase_id)
    if purchase.granted_at is None and purchase.status not in REVERSED_STATUSES:
        purchase.status = PurchaseStatus.FAILED
        purchase.failure_message = message[:500]
        purchase.save(update_fields=["status", "failure_message"])
    return purchase


@transaction.atomic
def reverse_purchase(*, purchase_id: int, now: datetime, created_by=None) -> Purchase:
    """Take an approved refund's credits back: its paid and bonus lots are reversed and the
    period's purchases and tier recomputed; the purchase says "Refund on its way" until
    `purchase_mark_refunded`. Idempotent."""
    account, purchase = locks.lock_purchase(purchase_id=purchase_id)
    if purchase.status in REVERSED_STATUSES:
        return purchase
    if purchase.granted_at is None:
        raise CreditsError("Only a paid purchase can be reversed.", code="purchase_not_paid")
    memo = f"Refund of {purchase.receipt_number}"
    for lot in purchase.lots.order_by("pk"):
        if lot.remaining_micros > 0:
            ledger.post_entry(
                account=account,
                lot=lot,
                kind=EntryKind.REVERSAL,
                amount_micros=-lot.remaining_micros,
                now=now,
                purchase=purchase,
                created_by=created_by,
                memo=memo,
            )
    # What the purchase paid off a negative balance goes back onto the debt: the card gets
    # all of it back, so the debt it settled is owed again (and charged as overage).
    settled = (
        LedgerEntry.objects.filter(
            purchase=purchase, kind=EntryKind.SETTLEMENT, lot__kind=LotKind.OVERAGE, amount_micros__gt=0
        )
        .values("lot")
        .annotate(total=Sum("amount_micros"))
        .order_by("lot")
    )
    for row in settled:
        ledger.post_entry(
            account=account,
            lot=CreditLot.objects.get(pk=row["lot"]),
            kind=EntryKind.REVERSAL,
            amount_micros=-row["total"],
            now=now,
            purchase=purchase,
            created_by=created_by,
            memo=f"{memo}: the overage it settled is owed again",
        )
    periods.uncount_purchase(purchase=purchase)
    purchase.status = PurchaseStatus.REFUNDING
    purchase.save(update_fields=["status"])
    return purchase


@transaction.atomic
def purchase_mark_refunded(*, purchase_id: int) -> Purchase:
    """Stripe refunded the card for a purchase whose credits were taken back."""
    _, purchase = locks.lock_purchase(purchase_id=purchase_id)
    if purchase.status == PurchaseStatus.REFUNDED:
        return purchase
    if purchase.status != PurchaseStatus.REFUNDING:
        raise CreditsError("Only a purchase being refunded can be marked refunded.", code="not_refunding")
    purchase.status = PurchaseStatus.REFUNDED
    purchase.save(update_fields=["status"])
    return purchase
