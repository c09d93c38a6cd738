"""The auto-recharge jobs: charge due plans (and low balances) off-session, exactly once.

A charge is a RechargeCharge row, unique per (plan, kind, due day, sequence), with its own
Purchase (unique key) written before Stripe is called. Workers claim charge rows with
SELECT ... FOR UPDATE SKIP LOCKED and keep the lock during the Stripe call, so two workers
never charge one row; the outcome (intent id) commits before the credits are granted, so a
worker killed between the two grants on the next run by retrieving the intent instead of
charging again. The idempotency key is stable per attempt, so Stripe itself also dedupes a
retry after a crash during the call.
"""

import logging
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q

from accounts.models import Organization
from credits.exceptions import CreditsError, PaymentProviderUnavailable
from credits.models import (
    AutoRecharge,
    ChargeKind,
    ChargeStatus,
    PurchaseSource,
    PurchaseStatus,
    RechargeCharge,
    RechargeStatus,
)
from credits.money import cents_to_micros, format_usd
from credits.selectors.ledger import credit_account_of
from credits.selectors.periods import charge_dates, latest_charge_day, period_for_purchase
from credits.services import checkout, locks
from credits.services.checkout import ChargeOutcome
from credits.services.notifications import BILLING_ROLES, notify_organization
from credits.services.purchases import (
    purchase_create,
    purchase_mark_failed,
    record_purchase,
)
from credits.stripe_client import Outcome

logger = logging.getLogger(__name__)

# After a failed attempt, try again this many days after the charge was first due; after
# the last one the plan is paused until the customer fixes the card.
RETRY_AFTER_DAYS = (1, 3, 5)

# Stripe unreachable: try again after these waits (the last one repeats), so an outage is
# retried soon without hammering Stripe; owners are mailed once it has failed this often.
PROVIDER_BACKOFF = (
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
)
PROVIDER_FAILURES_BEFORE_MAIL = 3

# A charge that raised something unexpected (a bug, a bad row) is set aside this long so
# it never blocks the charges queued behind it.
SET_ASIDE_AFTER_ERROR = timedelta(hours=1)

# Every status the job still tries to charge.
OPEN_STATUSES = (
    ChargeStatus.PENDING,
    ChargeStatus.FAILED,
    ChargeStatus.REQUIRES_ACTION,
    ChargeStatus.UNREACHABLE,
)


def _latest_due_day(plan: AutoRecharge, today: date) -> date:
    """The latest charge day not after today. Charge days are the starts of the plan's
    periods, so if the job did not run for a while this charges once, for the current
    period, not once per missed period."""
    current = latest_charge_day(billing_date=plan.billing_date, frequency=plan.frequency, today=today)
    return max(plan.next_charge_on, current)


def _new_charge(*, plan: AutoRecharge, kind: str, due_on: date, sequence: int, now: datetime) -> bool:
    """Make the plan's charge for that day and sequence, once, whatever happens to the plan
    after; whether it was made now. A plan terminated and started again on a day it was
    already charged for (with the same amount or another) keeps that charge; the new amount
    applies from the next charge day."""
    if RechargeCharge.objects.filter(plan=plan, kind=kind, due_on=due_on, sequence=sequence).exists():
        return False
    purchase = purchase_create(
        organization=plan.organization,
        amount_cents=plan.amount_cents,
        key=f"recharge:{plan.pk}:{kind}:{due_on.isoformat()}:{sequence}",
        created_by=plan.created_by,
        # The acceptance the plan was saved with travels onto each of its charges.
        refund_policy_version=plan.refund_policy_version,
        refund_policy_accepted_at=plan.refund_policy_accepted_at,
        now=now,
        source=PurchaseSource.AUTO_RECHARGE,
    )
    _, made = RechargeCharge.objects.get_or_create(
        plan=plan,
        kind=kind,
        due_on=due_on,
        sequence=sequence,
        defaults={
            "amount_cents": plan.amount_cents,
            "purchase": purchase,
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    return made


def schedule_due_charges(*, now: datetime) -> int:
    """Write a charge row for every active plan whose billing day has come; advance the plan.
    A plan that raises is logged and left for the next run, never stopping the others."""
    today = now.date()
    created = 0
    failed: list[int] = []
    while True:
        plan_id = None
        try:
            with transaction.atomic():
                # The plan row alone (a purchase or usage being written for the organization
                # holds a key-share lock on it that must not make the plan skipped).
                plan = (
                    AutoRecharge.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
                    .filter(status=RechargeStatus.ACTIVE, next_charge_on__lte=today)
                    .exclude(pk__in=failed)
                    .select_related("organization")
                    .order_by("pk")
                    .first()
                )
                if plan is None:
                    return created
                plan_id = plan.pk
                due_on = _latest_due_day(plan, today)
                made = _new_charge(plan=plan, kind=ChargeKind.SCHEDULED, due_on=due_on, sequence=0, now=now)
                plan.next_charge_on = charge_dates(
                    billing_date=plan.billing_date,
                    frequency=plan.frequency,
                    on_or_after=due_on + timedelta(days=1),
                    count=1,
                )[0]
                plan.save(update_fields=["next_charge_on"])
                created += made
        except Exception:
            if plan_id is None:
                raise
            logger.exception("scheduling auto-recharge plan %s failed unexpectedly", plan_id)
            failed.append(plan_id)


def schedule_threshold_charges(*, now: datetime) -> int:
    """A top-up for every active plan whose balance is below its floor, within its caps. A
    plan that raises is logged and left for the next run."""
    created = 0
    plans = AutoRecharge.objects.filter(status=RechargeStatus.ACTIVE, threshold_enabled=True)
    for plan_id in plans.values_list("pk", flat=True).order_by("pk"):
        try:
            with transaction.atomic():
                plan = (
                    AutoRecharge.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
                    .filter(pk=plan_id, status=RechargeStatus.ACTIVE)
                    .select_related("organization")
                    .first()
                )
                if plan is None:
                    continue
                account = credit_account_of(organization=plan.organization)
                if account.balance_micros >= plan.threshold_micros:
                    continue
                # Caps count per commitment period: the one a top-up granted today lands in.
                period = period_for_purchase(account=account, day=now.date())
                earlier = list(
                    RechargeCharge.objects.filter(
                        plan=plan, kind=ChargeKind.THRESHOLD, due_on=period.starts_on
                    )
                )
                # One top-up in flight at a time, and never past the caps of the period.
                if any(c.status in OPEN_STATUSES for c in earlier):
                    continue
                if len(earlier) >= plan.max_threshold_recharges:
                    continue
                if sum(c.amount_cents for c in earlier) + plan.amount_cents > plan.max_threshold_cents:
                    continue
                _new_charge(
                    plan=plan,
                    kind=ChargeKind.THRESHOLD,
                    due_on=period.starts_on,
                    sequence=len(earlier) + 1,
                    now=now,
                )
                created += 1
        except Exception:
            # As in schedule_due_charges: one plan's fault never stops the others.
            logger.exception("checking auto-recharge plan %s's floor failed unexpectedly", plan_id)
    return created


# What a claimed charge is read with, after its lock (locks.lock_work_row says why after).
CHARGE_RELATED = ("plan__organization", "purchase")


def _claim_next_charge(now: datetime) -> RechargeCharge | None:
    charge_id = (
        # The charge row alone, as locks.lock_work_row takes it, but skipping rows another
        # worker holds; then read afresh under the lock.
        RechargeCharge.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
        .filter(status__in=OPEN_STATUSES, next_attempt_at__lte=now)
        # A plan terminated or paused charges nothing new, but a charge it sent to Stripe
        # and did not grant (a crash after Stripe answered, or a payment processing at the
        # bank) is still looked up and granted if paid: the customer's money is not left
        # to the webhook alone.
        .filter(
            Q(plan__status=RechargeStatus.ACTIVE)
            | Q(status=ChargeStatus.PENDING, purchase__stripe_payment_intent_id__isnull=False)
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if charge_id is None:
        return None
    return RechargeCharge.objects.select_related(*CHARGE_RELATED).get(pk=charge_id)


def process_due_charges(*, now: datetime) -> int:
    """Attempt every charge that is due; returns how many were paid. A charge that raises
    is logged and set aside, never stopping the charges of other organizations."""
    paid = 0
    while True:
        charge_id = None
        try:
            with transaction.atomic():
                charge = _claim_next_charge(now)
                if charge is None:
                    return paid
                charge_id = charge.pk
                outcome = _attempt(charge, now)
            if outcome.status == Outcome.SUCCEEDED:
                _grant(charge.pk, outcome, now)
                paid += 1
        except Exception as error:
            if charge_id is None:
                raise
            logger.exception("recharge charge %s failed unexpectedly", charge_id)
            _set_aside(charge_id, error, now)


def retry_charge_now(*, charge_id: int, now: datetime) -> RechargeCharge:
    """Attempt one open charge at once (staff's "retry now"), under the same row lock and
    with the same idempotency rules as the job; a charge the plan gave up on is reopened."""
    with transaction.atomic():
        charge = locks.lock_work_row(RechargeCharge, pk=charge_id, related=CHARGE_RELATED)
        if charge.plan.status != RechargeStatus.ACTIVE:
            raise CreditsError("Resume the plan before retrying its charge.", code="plan_not_active")
        if charge.status == ChargeStatus.GAVE_UP:
            charge.status = ChargeStatus.FAILED
        elif charge.status not in OPEN_STATUSES:
            raise CreditsError("Only a charge that has not been paid can be retried.", code="not_retryable")
        outcome = _attempt(charge, now)
    if outcome.status == Outcome.SUCCEEDED:
        _grant(charge.pk, outcome, now)
    charge.refresh_from_db()
    return charge


def _set_aside(charge_id: int, error: Exception, now: datetime) -> None:
    # The failed attempt rolled back; only the delay and the error are kept, for staff.
    RechargeCharge.objects.filter(pk=charge_id).update(
        next_attempt_at=now + SET_ASIDE_AFTER_ERROR,
        last_error=f"Internal error, retried later: {type(error).__name__}"[:500],
    )


def _attempt(charge: RechargeCharge, now: datetime) -> ChargeOutcome:
    """Runs under the charge's row lock; stores the outcome before anything is granted."""
    purchase = charge.purchase
    outcome = None
    if purchase.granted_at is not None:
        # The webhook granted it meanwhile (Stripe had charged before an outage hid the
        # answer from us): record the success, never charge again.
        return ChargeOutcome(status=Outcome.SUCCEEDED, intent_id=purchase.stripe_payment_intent_id or "")
    if charge.plan.status != RechargeStatus.ACTIVE:
        return _look_up_only(charge, now)
    if purchase.stripe_payment_intent_id:
        # Sent to Stripe before: ask what became of it instead of charging again. Pending
        # (charged, then a crash before the grant; or processing at the bank) takes Stripe's
        # answer as it is. Otherwise (declined, waiting for authentication) the earlier
        # intent is cancelled first, so a page the customer left open for 3-D Secure cannot
        # pay it after the new one has; if it was paid or is processing meanwhile, that
        # answer stands and nothing new is charged.
        try:
            if charge.status == ChargeStatus.PENDING:
                known = checkout.payment_intent_outcome(intent_id=purchase.stripe_payment_intent_id)
            else:
                known = checkout.payment_intent_cancel_if_open(intent_id=purchase.stripe_payment_intent_id)
        except PaymentProviderUnavailable as error:
            return _provider_unreachable(charge, error.message, now)
        if known.status in (Outcome.SUCCEEDED, Outcome.PROCESSING) or charge.status == ChargeStatus.PENDING:
            outcome = known
    if outcome is None:
        try:
            outcome = checkout.charge_saved_card_off_session(
                organization=charge.plan.organization,
                amount_cents=charge.amount_cents,
                payment_method_id=charge.plan.payment_method_id,
                idempotency_key=f"{purchase.key}:attempt-{charge.attempts + 1}",
                # Lets the webhook match the intent to its purchase before this job stores it.
                purchase_id=purchase.pk,
            )
        except PaymentProviderUnavailable as error:
            # We cannot tell whether Stripe charged: try again later with the SAME key (the
            # attempt count is not advanced), so Stripe answers with the first intent.
            return _provider_unreachable(charge, error.message, now)
        except CreditsError as error:
            outcome = ChargeOutcome(status=Outcome.FAILED, message=error.message)
        charge.attempts += 1
    # Stripe answered: the outage (if any) is over.
    charge.provider_failures = 0
    # What Stripe said is written to the purchase under the lock order (the account, then
    # the purchase; this charge is already held): a webhook granting the same purchase
    # takes them in that order too.
    _, purchase = locks.lock_purchase(purchase_id=charge.purchase_id)
    charge.purchase = purchase
    if outcome.intent_id and outcome.intent_id != purchase.stripe_payment_intent_id:
        purchase.stripe_payment_intent_id = outcome.intent_id
        purchase.save(update_fields=["stripe_payment_intent_id"])
    if outcome.status == Outcome.SUCCEEDED:
        # Granted right after this transaction commits; until then the row says pending.
        charge.status = ChargeStatus.PENDING
        charge.save(update_fields=["status", "attempts", "provider_failures"])
        return outcome
    if outcome.status == Outcome.PROCESSING:
        # Still processing at the bank: look again later, never charge again meanwhile.
        charge.status = ChargeStatus.PENDING
        charge.save(update_fields=["status", "attempts", "provider_failures"])
        return _retry_soon(charge, "The payment is still processing.", now)
    _record_failure(charge, outcome, now)
    return outcome


RETRY_SOON = timedelta(minutes=10)


def _retry_soon(charge: RechargeCharge, message: str, now: datetime) -> ChargeOutcome:
    charge.next_attempt_at = now + RETRY_SOON
    charge.last_error = message[:500]
    charge.save(update_fields=["next_attempt_at", "last_error"])
    return ChargeOutcome(status=Outcome.PROCESSING, message=message)


# What a Stripe outage changes on a charge (the caller saves them).
_BACKED_OFF_FIELDS = ["provider_failures", "next_attempt_at", "last_error"]


def _back_off(charge: RechargeCharge, message: str, now: datetime) -> None:
    charge.provider_failures += 1
    charge.next_attempt_at = now + PROVIDER_BACKOFF[min(charge.provider_failures, len(PROVIDER_BACKOFF)) - 1]
    charge.last_error = message[:500]


def _look_up_only(charge: RechargeCharge, now: datetime) -> ChargeOutcome:
    """A plan terminated or paused charges nothing new; a charge of it that was sent to
    Stripe and not granted (_claim_next_charge) is only looked up: paid, it is granted;
    processing or Stripe out of reach, it is looked up again later and stays pending; failed,
    it waits, as the plan's other open charges do, for the plan to be resumed. No retry is
    scheduled, nobody is mailed, and the plan's status and words stay as they are."""
    try:
        known = checkout.payment_intent_outcome(intent_id=charge.purchase.stripe_payment_intent_id or "")
    except PaymentProviderUnavailable as error:
        _back_off(charge, error.message, now)
        charge.save(update_fields=_BACKED_OFF_FIELDS)
        return ChargeOutcome(status=Outcome.PROCESSING, message=error.message)
    charge.provider_failures = 0
    if known.status == Outcome.SUCCEEDED:
        charge.save(update_fields=["provider_failures"])
        return known
    if known.status == Outcome.PROCESSING:
        charge.save(update_fields=["provider_failures"])
        return _retry_soon(charge, "The payment is still processing.", now)
    needs_action = known.status == Outcome.REQUIRES_ACTION
    charge.status = ChargeStatus.REQUIRES_ACTION if needs_action else ChargeStatus.FAILED
    charge.last_error = (known.message or "The payment failed.")[:500]
    charge.save(update_fields=["status", "provider_failures", "last_error"])
    return known


def _provider_unreachable(charge: RechargeCharge, message: str, now: datetime) -> ChargeOutcome:
    """Stripe did not answer: the charge stays open and visible (credit page, admin), is
    retried with backoff, and the owners hear of it once it keeps failing."""
    plan = charge.plan
    _back_off(charge, message, now)
    charge.status = ChargeStatus.UNREACHABLE
    charge.save(update_fields=["status", *_BACKED_OFF_FIELDS])
    plan.last_result = (
        f"We could not reach our payment provider to charge "
        f"{format_usd(cents_to_micros(charge.amount_cents))} on {now:%b %-d, %Y}. "
        f"We try again automatically (next at {charge.next_attempt_at:%b %-d, %H:%M} UTC); "
        "you are never charged twice for it."
    )
    plan.updated_at = now
    plan.save(update_fields=["last_result", "updated_at"])
    if charge.provider_failures == PROVIDER_FAILURES_BEFORE_MAIL:
        notify_organization(
            organization=plan.organization,
            subject="Your auto-recharge payment is delayed",
            template="credits/email/recharge_delayed.txt",
            context={"plan": plan, "charge": charge, "message": message},
            roles=BILLING_ROLES,
        )
    return ChargeOutcome(status=Outcome.PROCESSING, message=message)


def _record_failure(charge: RechargeCharge, outcome: ChargeOutcome, now: datetime) -> None:
    plan = charge.plan
    needs_action = outcome.status == Outcome.REQUIRES_ACTION
    message = outcome.message or (
        "The bank asked for authentication." if needs_action else "The payment failed."
    )
    retries_done = charge.attempts - 1
    charge.last_error = message[:500]
    if retries_done < len(RETRY_AFTER_DAYS):
        charge.status = ChargeStatus.REQUIRES_ACTION if needs_action else ChargeStatus.FAILED
        # Days after the charge was first due, but never sooner than a day from now: a
        # charge retried late (a paused plan resumed, a long outage) is not tried again
        # within the same run until the plan gives up.
        charge.next_attempt_at = max(
            charge.created_at + timedelta(days=RETRY_AFTER_DAYS[retries_done]), now + timedelta(days=1)
        )
        plan.last_result = (
            f"Payment of {format_usd(cents_to_micros(charge.amount_cents))} failed: {message} "
            f"We retry on {charge.next_attempt_at:%b %-d, %Y}."
        )
    else:
        charge.status = ChargeStatus.GAVE_UP
        plan.status = RechargeStatus.PAUSED
        plan.last_result = (
            f"Payment of {format_usd(cents_to_micros(charge.amount_cents))} failed {charge.attempts} "
            f"times: {message} Auto-recharge is paused; update your card and save the plan to resume."
        )
        purchase_mark_failed(purchase_id=charge.purchase_id, message=message)
    if needs_action and charge.status == ChargeStatus.REQUIRES_ACTION:
        # Authentication needs the customer; the page offers it and the retry stays scheduled.
        charge.purchase.status = PurchaseStatus.REQUIRES_ACTION
        charge.purchase.save(update_fields=["status"])
    charge.save(update_fields=["status", "attempts", "provider_failures", "last_error", "next_attempt_at"])
    plan.updated_at = now
    plan.save(update_fields=["status", "last_result", "updated_at"])
    notify_organization(
        organization=plan.organization,
        subject="Your auto-recharge payment failed",
        template="credits/email/recharge_failed.txt",
        context={"plan": plan, "charge": charge, "message": message},
        roles=BILLING_ROLES,
    )


def _grant(charge_id: int, outcome: ChargeOutcome, now: datetime) -> None:
    with transaction.atomic():
        # The lock order (credits/services/locks.py): the charge, then the account and the
        # purchase (record_purchase), then the plan.
        charge = locks.lock_work_row(RechargeCharge, pk=charge_id, related=("plan",))
        purchase = record_purchase(
            purchase_id=charge.purchase_id,
            now=now,
            payment_intent_id=outcome.intent_id,
            card_brand=outcome.card_brand,
            card_last4=outcome.card_last4,
        )
        charge.status = ChargeStatus.SUCCEEDED
        charge.last_error = ""
        charge.save(update_fields=["status", "last_error"])
        plan = charge.plan
        plan.last_result = f"Paid {format_usd(cents_to_micros(purchase.amount_cents))} on {now:%b %-d, %Y}."
        plan.save(update_fields=["last_result"])


def run_recharges(*, now: datetime) -> dict[str, int]:
    """The job: schedule what is due, then charge it."""
    return {
        "scheduled": schedule_due_charges(now=now),
        "threshold": schedule_threshold_charges(now=now),
        "paid": process_due_charges(now=now),
    }


def charge_client_secret(*, organization: Organization, charge_id: int) -> tuple[RechargeCharge, str]:
    """The charge waiting for the customer's authentication and its intent's client secret."""
    from credits import stripe_client

    charge = (
        RechargeCharge.objects.select_related("purchase")
        .filter(plan__organization=organization, pk=charge_id, status=ChargeStatus.REQUIRES_ACTION)
        .first()
    )
    if charge is None or not charge.purchase.stripe_payment_intent_id:
        raise CreditsError("This payment does not need authentication.", code="no_action_needed")
    intent = stripe_client.payment_intent_retrieve(payment_intent_id=charge.purchase.stripe_payment_intent_id)
    return charge, intent.client_secret


def charge_confirm_after_authentication(
    *, organization: Organization, charge_id: int, now: datetime
) -> RechargeCharge:
    """The page comes back from 3-D Secure: ask Stripe (never the browser) and grant if paid."""
    with transaction.atomic():
        if not RechargeCharge.objects.filter(plan__organization=organization, pk=charge_id).exists():
            raise CreditsError("No such payment.", code="not_found")
        charge = locks.lock_work_row(RechargeCharge, pk=charge_id, related=("purchase", "plan"))
        if charge.status != ChargeStatus.REQUIRES_ACTION:
            return charge
        # A charge waiting for authentication was sent to Stripe, so its intent id is set.
        outcome = checkout.payment_intent_outcome(intent_id=charge.purchase.stripe_payment_intent_id or "")
        if outcome.status != Outcome.SUCCEEDED:
            raise CreditsError(
                "The bank has not confirmed this payment. Try again, or update your card.",
                code="not_authenticated",
            )
    _grant(charge.pk, outcome, now)
    charge.refresh_from_db()
    return charge
