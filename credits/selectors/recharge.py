"""Auto-recharge reads."""

from accounts.models import Organization
from credits.models import AutoRecharge, BillingPolicy, ChargeStatus, RechargeCharge, RechargeStatus


def recharge_plan_of(*, organization: Organization) -> AutoRecharge | None:
    """The organization's auto-recharge plan (at most one, active or not), or None."""
    return AutoRecharge.objects.filter(organization=organization).first()


def charges_needing_attention(*, organization: Organization) -> list[RechargeCharge]:
    """Failed, held-back or delayed recharge payments: the customer can fix the first two
    (card or 3-D Secure) and must see the last (Stripe unreachable, retried by the job)."""
    return list(
        RechargeCharge.objects.filter(
            plan__organization=organization,
            status__in=[
                ChargeStatus.FAILED,
                ChargeStatus.REQUIRES_ACTION,
                ChargeStatus.GAVE_UP,
                ChargeStatus.UNREACHABLE,
            ],
            purchase__granted_at__isnull=True,
        ).order_by("-created_at")[:3]
    )


def refund_policy_accepted(*, plan: AutoRecharge | None) -> bool:
    """Whether the plan's acceptance covers today's refund policy (else saving asks again)."""
    if plan is None or plan.status == RechargeStatus.TERMINATED:
        return False
    return plan.refund_policy_version == BillingPolicy.current().refund_policy_version
