"""Overage: a negative balance is charged to the default card at period end, or at once
when the debt passes the policy threshold; the payment settles the debt as a purchase."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from accounts.models import Organization
from credits.exceptions import (
    CreditsError,
    PaymentProviderUnavailable,
    StripeRequestRejected,
)
from credits.models import (
    BillingPolicy,
    CreditAccount,
    LedgerEntry,
    OverageCharge,
    OverageStatus,
    OverageTrigger,
    Purchase,
    PurchaseSource,
)
from credits.money import cents_to_micros, micros_to_cents_ceil
from credits.selectors.periods import PeriodBounds, overage_period_on
from credits.selectors.usage import day_start
from credits.services import checkout, locks, purchases
from credits.services.checkout import ChargeOutcome
from credits.services.notifications import notify_organization
from credits.stripe_client import Outcome

logger = logging.getLogger(__name__)

# A declined card is tried again at most once a day, never on every run of the job.
RETRY_AFTER = timedelta(days=1)

# A declined period-end charge is tried again this many days after its first attempt, the
# schedule of auto-recharge (credits/services/recharge_jobs.py); then the debt waits for
# the next period end (or the next purchase, which settles it first).
PERIOD_END_RETRY_AFTER_DAYS = (1, 3, 5)

# Stripe refuses charges under $0.50 (amount_too_small); a smaller debt is not charged but
# carried forward: it stays on the balance until the next period end or purchase.
STRIPE_MINIMUM_CHARGE_CENTS = 50


class OverageJobIncomplete(CreditsError):
    """Some organizations could not be charged this run; the others were."""

    code = "overage_job_incomplete"


def _period_on(account: CreditAccount, organization: Organization, day) -> PeriodBounds:
    return overage_period_on(account=account, created_on=organization.created_at.date(), day=day)


def _balance_at(account: CreditAccount, moment: datetime) -> int:
    last = (
        LedgerEntry.objects.filter(account=account, created_at__lt=moment)
        .order_by("-created_at", "-pk")
        .values_list("balance_after_micros", flat=True)
        .first()
    )
    return last or 0


def _due(
    account: CreditAccount, organization: Organization, now: datetime
) -> tuple[str, PeriodBounds, str] | None:
    """Why and for which period the debt is due now, with the charge's key; None if not due."""
    if account.balance_micros >= 0:
        return None
    current = _period_on(account, organization, now.date())
    policy = BillingPolicy.current()
    if -account.balance_micros > cents_to_micros(policy.overage_threshold_cents):
        number = OverageCharge.objects.filter(
            organization=organization,
            trigger=OverageTrigger.THRESHOLD,
            period_starts_on=current.starts_on,
        ).count()
        key = f"overage-{organization.pk}-{current.starts_on}-threshold-{number + 1}"
        return OverageTrigger.THRESHOLD, current, key
    previous = _period_on(account, organization, current.starts_on - timedelta(days=1))
    tried = list(
        OverageCharge.objects.filter(
            organization=organization,
            trigger=OverageTrigger.PERIOD_END,
            period_starts_on=previous.starts_on,
        ).order_by("attempt")
    )
    key = f"overage-{organization.pk}-{previous.starts_on}-period-end"
    if not tried:
        if _balance_at(account, day_start(current.starts_on)) < 0:
            return OverageTrigger.PERIOD_END, previous, key
        return None
    last = tried[-1]
    retries_done = last.attempt - 1
    if last.status != OverageStatus.FAILED or retries_done >= len(PERIOD_END_RETRY_AFTER_DAYS):
        return None
    if now < tried[0].created_at + timedelta(days=PERIOD_END_RETRY_AFTER_DAYS[retries_done]):
        return None
    return OverageTrigger.PERIOD_END, previous, f"{key}-retry-{last.attempt + 1}"


def _attempt_number(organization: Organization, trigger: str, period_starts_on) -> int:
    if trigger != OverageTrigger.PERIOD_END:
        return 1
    done = OverageCharge.objects.filter(
        organization=organization, trigger=trigger, period_starts_on=period_starts_on
    ).count()
    return done + 1


@transaction.atomic
def _open_charge(*, organization: Organization, now: datetime) -> OverageCharge | None:
    """The charge to attempt now: one left pending by a crash, else a new one if due."""
    account = locks.lock_account(organization=organization)
    pending = OverageCharge.objects.filter(organization=organization, status=OverageStatus.PENDING).first()
    if pending is not None:
        return pending
    failed_lately = OverageCharge.objects.filter(
        organization=organization, status=OverageStatus.FAILED, created_at__gt=now - RETRY_AFTER
    ).exists()
    due = None if failed_lately else _due(account, organization, now)
    if due is None:
        return None
    trigger, bounds, key = due
    # The whole debt, rounded up: a debt of 0.3 cents is charged as 1 cent (the surplus
    # stays as paid credit).
    amount_cents = micros_to_cents_ceil(-account.balance_micros)
    if amount_cents < STRIPE_MINIMUM_CHARGE_CENTS:
        # Carried forward: no row, so the next period end (or run) looks at it again.
        return None
    # Written before the card is charged, like every purchase: its key is Stripe's
    # idempotency key, so a retry after a crash cannot charge twice.
    purchase = Purchase(
        organization=organization,
        key=key,
        amount_cents=amount_cents,
        bonus_cents=0,
        source=PurchaseSource.OVERAGE,
        created_at=now,
    )
    purchase.full_clean()
    purchase.save()
    charge = OverageCharge(
        organization=organization,
        key=key,
        trigger=trigger,
        period_starts_on=bounds.starts_on,
        period_ends_on=bounds.ends_on,
        attempt=_attempt_number(organization, trigger, bounds.starts_on),
        amount_cents=amount_cents,
        purchase=purchase,
        created_at=now,
    )
    charge.full_clean(exclude=["purchase"])
    charge.save()
    return charge


def _charge_paid(*, charge: OverageCharge, outcome: ChargeOutcome | None, now: datetime) -> OverageCharge:
    """The card paid: grant the overage purchase (a paid lot that settles the debt, through
    the one granting path, which for overage neither anchors the period, counts toward the
    tier nor earns bonus) and close the charge. The webhook may have granted it already."""
    charge.purchase = purchases.record_purchase(
        purchase_id=charge.purchase_id,
        now=now,
        payment_intent_id=outcome.intent_id if outcome else "",
        card_brand=outcome.card_brand if outcome else "",
        card_last4=outcome.card_last4 if outcome else "",
    )
    charge.status = OverageStatus.SUCCEEDED
    charge.charged_at = now
    charge.save(update_fields=["status", "charged_at"])
    return charge


def _charge_failed(*, charge: OverageCharge, code: str, message: str) -> OverageCharge:
    charge.purchase = purchases.purchase_mark_failed(purchase_id=charge.purchase_id, message=message)
    charge.status = OverageStatus.FAILED
    charge.failure_code = code[:64]
    charge.failure_message = message[:500]
    charge.save(update_fields=["status", "failure_code", "failure_message"])
    # To the owners, after commit (notify_organization defers the send).
    notify_organization(
        organization=charge.organization,
        subject=f"Payment of your negative balance failed ({charge.organization.name})",
        template="credits/email/overage_failed.txt",
        context={"charge": charge, "portal_url": settings.PORTAL_URL},
    )
    return charge


def charge_overage(*, organization: Organization, now: datetime) -> OverageCharge | None:
    """Charge the organization's negative balance if it is due; idempotent per period.

    1. The pending charge and its purchase (whose key is Stripe's idempotency key) commit
       before the card is charged.
    2. The card is charged holding only the charge's row lock (step 1 of
       credits/services/locks.py, never the account, so usage goes on meanwhile), and what
       Stripe answered commits with the intent's id: a decline closes the charge.
    3. The payment is granted under the charge's lock again.
    A second worker waits on the charge's lock and finds it settled, or finds the intent and
    asks Stripe about it instead of charging again; so does the next run after a crash (or
    the webhook grants the purchase meanwhile)."""
    opened = _open_charge(organization=organization, now=now)
    if opened is None:
        return None
    outcome = None
    with transaction.atomic():
        charge = locks.lock_work_row(OverageCharge, pk=opened.pk, related=("organization", "purchase"))
        if charge.status != OverageStatus.PENDING:
            return charge
        if charge.purchase.granted_at is None:
            try:
                outcome = _stripe_outcome(charge)
            except StripeRequestRejected as error:
                # Stripe refused the request itself (too small, a removed card): retrying
                # the same request cannot help, so it is recorded as failed, for staff and
                # the schedule.
                return _charge_failed(charge=charge, code=error.code, message=error.message)
            if outcome.status == Outcome.REQUIRES_ACTION:
                return _charge_failed(
                    charge=charge,
                    code="authentication_required",
                    message=outcome.message or "Your bank asked to confirm the payment.",
                )
            if outcome.status == Outcome.FAILED:
                return _charge_failed(
                    charge=charge, code="card_declined", message=outcome.message or "The card was declined."
                )
            _, purchase = locks.lock_purchase(purchase_id=charge.purchase_id)
            if outcome.intent_id and not purchase.stripe_payment_intent_id:
                purchase.stripe_payment_intent_id = outcome.intent_id
                purchase.save(update_fields=["stripe_payment_intent_id"])
    if outcome is not None and outcome.status == Outcome.PROCESSING:
        # Its intent is stored: the next run asks Stripe about it.
        raise PaymentProviderUnavailable("The payment is still processing; it is checked again later.")
    with transaction.atomic():
        charge = locks.lock_work_row(OverageCharge, pk=opened.pk, related=("organization", "purchase"))
        if charge.status != OverageStatus.PENDING:
            return charge
        # Paid (or granted by the webhook meanwhile, when `outcome` is None).
        return _charge_paid(charge=charge, outcome=outcome, now=now)


def _stripe_outcome(charge: OverageCharge) -> ChargeOutcome:
    """Stripe's word on this charge: on the intent made for it before (a crash after its
    commit, or a payment still processing), else on a new off-session charge of the default
    card. A network failure or an outage propagates: nothing is written, the charge stays
    pending and the next run asks again under the same key."""
    known = charge.purchase.stripe_payment_intent_id
    if known:
        try:
            return checkout.payment_intent_outcome(intent_id=known)
        except StripeRequestRejected as error:
            # The card was (or may have been) charged: a look-up Stripe refuses (a key being
            # rotated, the wrong account) says nothing about the payment, so the charge stays
            # pending for the next run and for staff, never marked failed.
            raise PaymentProviderUnavailable(f"Stripe refused to look up {known}: {error.message}") from error
    return checkout.charge_saved_card_off_session(
        organization=charge.organization,
        amount_cents=charge.amount_cents,
        payment_method_id="",
        idempotency_key=charge.key,
        purchase_id=charge.purchase_id,
    )


def charge_due_overages(*, now: datetime) -> list[OverageCharge]:
    """The job (daily or more often): every organization in debt or with a charge pending."""
    in_debt = CreditAccount.objects.filter(balance_micros__lt=0).values_list("organization_id", flat=True)
    pending = OverageCharge.objects.filter(status=OverageStatus.PENDING).values_list(
        "organization_id", flat=True
    )
    charges = []
    failed = []
    for organization in Organization.objects.filter(pk__in={*in_debt, *pending}).order_by("pk"):
        # One organization's trouble (Stripe down, a bug in its data) never stops the
        # others; its pending charge is retried on the next run with the same key.
        try:
            charge = charge_overage(organization=organization, now=now)
        except Exception:
            logger.exception("overage charge of organization %s failed", organization.pk)
            failed.append(organization.pk)
            continue
        if charge is not None:
            charges.append(charge)
    if failed:
        # Reported so the run shows as failed (and is alerted on); the others are done.
        raise OverageJobIncomplete(
            f"Overage not charged for organizations {failed}; {len(charges)} others charged."
        )
    return charges
