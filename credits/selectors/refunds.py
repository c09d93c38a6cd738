"""Refund reads: the rule customers are shown, each purchase's refundability, their requests."""

from dataclasses import dataclass

from django.db.models import QuerySet

from accounts.models import Organization
from credits.models import Purchase, PurchaseStatus, RefundRequest, RefundStatus
from credits.selectors.usage import has_usage_history

RULE = (
    "Purchased credits can be refunded only while your organization has no API usage "
    "history at all. Once the API has been used even once, purchases are not refundable."
)


@dataclass(frozen=True)
class Refundability:
    purchase: Purchase
    refundable: bool
    why: str
    open_request: RefundRequest | None


def purchases_refundability(*, organization: Organization) -> list[Refundability]:
    """Each purchase of the organization with whether it can be refunded and why."""
    used = has_usage_history(organization=organization)
    requests = {
        r.purchase_id: r
        for r in RefundRequest.objects.filter(organization=organization).exclude(
            status=RefundStatus.REJECTED
        )
    }
    rows = []
    charges = Purchase.objects.filter(organization=organization).select_related("receipt")
    for purchase in charges.order_by("-created_at"):
        open_request = requests.get(purchase.pk)
        if purchase.status == PurchaseStatus.REFUNDED:
            refundable, why = False, "Already refunded."
        elif purchase.granted_at is None:
            refundable, why = False, "Not paid."
        elif used:
            refundable, why = False, "The API has been used, so purchases are not refundable."
        elif open_request is not None:
            refundable, why = False, f"A request is {open_request.get_status_display().lower()}."
        else:
            refundable, why = True, "Refundable: no API usage yet."
        rows.append(Refundability(purchase, refundable, why, open_request))
    return rows


def refund_requests_of(*, organization: Organization) -> QuerySet[RefundRequest]:
    """The organization's refund requests with their purchases, for the refunds page."""
    return RefundRequest.objects.filter(organization=organization).select_related("purchase__receipt")
