"""Auto-recharge reads."""

from accounts.models import Organization
from credits.models import AutoRecharge, ChargeStatus, RechargeCharge


def recharge_plan_of(*, organization: Organization) -> AutoRecharge | None:
    """The organization's auto-recharge plan (at most one, active or not), or None."""
    return AutoRecharge.objects.filter(organization=organization).first()


def charges_needing_attention(*, organization: Organization) -> list[RechargeCharge]:
    """Failed or held-back recharge payments the customer can fix (card or 3-D Secure)."""
    return list(
        RechargeCharge.objects.filter(
            plan__organization=organization,
            status__in=[ChargeStatus.FAILED, ChargeStatus.REQUIRES_ACTION, ChargeStatus.GAVE_UP],
            purchase__granted_at__isnull=True,
        ).order_by("-created_at")[:3]
    )
