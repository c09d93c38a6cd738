"""Staff operations on auto-recharge plans from the admin: pause, resume, retry a charge.

Each is audited (who, when, before and after) in the transaction that makes the change."""

from datetime import datetime

from django.db import transaction

from accounts.models import User
from accounts.services import audit_record, audit_snapshot
from credits.exceptions import CreditsError
from credits.models import AutoRecharge, RechargeCharge, RechargeStatus
from credits.services import locks, recharge_jobs


def _move_plan(
    *, plan_id: int, staff: User, now: datetime, source: str, target: str, verb: str, action: str,
    error: CreditsError
) -> AutoRecharge:
    """One audited status change of a plan, under its row lock."""
    plan = locks.lock_work_row(AutoRecharge, pk=plan_id, related=("organization",))
    if plan.status != source:
        raise error
    before = audit_snapshot(plan)
    plan.status = target
    plan.last_result = f"{verb} by our billing team on {now:%b %-d, %Y}."
    plan.updated_at = now
    plan.save(update_fields=["status", "last_result", "updated_at"])
    audit_record(
        actor=staff,
        action=action,
        obj=plan,
        before=before,
        after=audit_snapshot(plan),
        organization=plan.organization,
        now=now,
    )
    return plan


@transaction.atomic
def recharge_pause(*, plan_id: int, staff: User, now: datetime) -> AutoRecharge:
    """Stop the plan's charges (scheduled and top-ups) until it is resumed."""
    return _move_plan(
        plan_id=plan_id, staff=staff, now=now, source=RechargeStatus.ACTIVE, target=RechargeStatus.PAUSED,
        verb="Paused", action="recharge_pause",
        error=CreditsError("Only an active plan can be paused.", code="not_active"),
    )


@transaction.atomic
def recharge_resume(*, plan_id: int, staff: User, now: datetime) -> AutoRecharge:
    """Charge again from the next billing day (a day missed while paused is charged once,
    for the current period, like any late run)."""
    return _move_plan(
        plan_id=plan_id, staff=staff, now=now, source=RechargeStatus.PAUSED, target=RechargeStatus.ACTIVE,
        verb="Resumed", action="recharge_resume",
        error=CreditsError("Only a paused plan can be resumed.", code="not_paused"),
    )


def recharge_charge_retry(*, charge_id: int, staff: User, now: datetime) -> RechargeCharge:
    """Try a failed (or delayed) charge now instead of at its next scheduled attempt.

    Not one transaction: the attempt commits its outcome before the credits are granted
    (recharge_jobs owns that order); the audit entry records the request and the result."""
    before = audit_snapshot(RechargeCharge.objects.get(pk=charge_id))
    charge = recharge_jobs.retry_charge_now(charge_id=charge_id, now=now)
    audit_record(
        actor=staff,
        action="recharge_charge_retry",
        obj=charge,
        before=before,
        after=audit_snapshot(charge),
        organization=charge.plan.organization,
        note=charge.last_error,
        now=now,
    )
    return charge
