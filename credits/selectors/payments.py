"""Stripe-side reads: saved cards and purchases (receipts)."""

from accounts.models import Organization
from credits.models import PaymentMethod, Purchase


def payment_methods_of(*, organization: Organization):
    """The organization's saved cards, the default first."""
    return PaymentMethod.objects.filter(customer__organization=organization)


def purchases_of(*, organization: Organization):
    return Purchase.objects.filter(organization=organization)
