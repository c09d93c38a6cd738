"""What we keep of Stripe: customers, saved cards, payment attempts and received events."""

from django.conf import settings
from django.db import models


class StripeCustomer(models.Model):
    """Each organization is one Stripe customer, created the first time it is needed."""

    organization = models.OneToOneField(
        "accounts.Organization", on_delete=models.PROTECT, related_name="stripe_customer"
    )
    stripe_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.stripe_id


class PaymentMethod(models.Model):
    """A card saved through a SetupIntent and attached to the organization's customer."""

    customer = models.ForeignKey(
        StripeCustomer, on_delete=models.PROTECT, related_name="payment_methods"
    )
    stripe_id = models.CharField(max_length=255, unique=True)
    brand = models.CharField(max_length=32)
    last4 = models.CharField(max_length=4)
    exp_month = models.PositiveSmallIntegerField()
    exp_year = models.PositiveSmallIntegerField()
    # The card the buy page preselects and auto-recharge charges; at most one per customer.
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-is_default", "-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_default=True),
                name="one_default_card_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"


class PaymentAttempt(models.Model):
    """The right to call Stripe for one purchase, taken before the call.

    Stripe's idempotency key alone would stop a double submit from charging twice, but
    localstripe ignores idempotency keys, so the guarantee is this unique row: only the
    request that inserts it creates a PaymentIntent.
    """

    purchase = models.OneToOneField(
        "credits.Purchase", on_delete=models.PROTECT, related_name="payment_attempt"
    )
    # Kept even if the card is removed later, so the receipt still knows what was charged.
    payment_method = models.ForeignKey(
        PaymentMethod, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Attempt for purchase {self.purchase_id}"


class StripeEvent(models.Model):
    """A webhook event exactly as Stripe sent it, stored before it is processed.

    A duplicate delivery hits the unique `stripe_id`; processing happens once, under a row
    lock, and `processed_at` says it is done. Events that failed keep the error and are
    processed again if Stripe delivers them again.
    """

    stripe_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The purchase the event was about, when we found one.
    purchase = models.ForeignKey(
        "credits.Purchase",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stripe_events",
    )

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_id}"


class PaymentContactMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    INVOICE = "invoice", "Invoice with payment terms"
    OTHER = "other", "Something else"


class PaymentContactRequest(models.Model):
    """A customer asking to pay by something other than a card; staff answer by email."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="payment_contact_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    method = models.CharField(max_length=32, choices=PaymentContactMethod.choices)
    message = models.TextField(max_length=2000)
    created_at = models.DateTimeField()
    # Set by the admin action once staff have answered: who and when.
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_method_display()} for {self.organization}"
