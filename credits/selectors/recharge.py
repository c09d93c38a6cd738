"""Auto-recharge reads."""

from accounts.models import Organization
from credits.models import ChargeStatus, RechargeCharge


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
