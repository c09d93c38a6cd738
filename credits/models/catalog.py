"""What staff edit as data: models and prices, rate limits, the bonus schedule, policy dates."""

from datetime import date
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from credits.models.ledger import PeriodKind


class Tier(models.TextChoices):
    """A commitment tier an organization holds."""

    NONE = "none", "No tier"
    EXPLORE = "explore", "Explore"
    BUILD = "build", "Build"
    SCALE = "scale", "Scale"
    ENTERPRISE = "enterprise", "Enterprise"


class LimitTier(models.TextChoices):
    """A column of the rate-limit table."""

    BASE = "base", "Base"
    TIER_1 = "tier1", "Tier 1"
    TIER_2 = "tier2", "Tier 2"
    TIER_3 = "tier3", "Tier 3"
    LEGACY = "legacy", "Legacy"
    ENTERPRISE = "enterprise", "Enterprise"


class ModelKind(models.TextChoices):
    LLM = "llm", "Language model"
    DOCUMENT = "document", "Document model"
    EMBEDDING = "embedding", "Embedding model"


# Which usage quantities each model kind is priced by: the usage API refuses any other
# quantity (so a mislabelled event is never recorded at zero cost) and the estimator asks
# only for these. The one home of that rule.
QUANTITY_FIELDS: dict[str, tuple[str, ...]] = {
    ModelKind.LLM: ("input_tokens", "output_tokens"),
    ModelKind.EMBEDDING: ("input_tokens",),
    ModelKind.DOCUMENT: ("pages",),
}
ALL_QUANTITY_FIELDS = ("input_tokens", "output_tokens", "pages")


class ApiModel(models.Model):
    """A model of the API platform with its unit prices."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=ModelKind.choices)
    # Prices in micro-dollars per million tokens: $0.15 / 1M tokens is 150_000.
    input_micros_per_million = models.PositiveBigIntegerField(default=0)
    output_micros_per_million = models.PositiveBigIntegerField(default=0)
    # Document models are priced per page, in micro-dollars: $0.01 / page is 10_000.
    page_micros = models.PositiveBigIntegerField(default=0)
    # Shown on the credit page and the pricing examples.
    featured = models.BooleanField(default=False)
    sort_order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    # Free for organizations with an education / public-interest program grant (staff data,
    # copied onto each grant when it is approved).
    in_program = models.BooleanField(
        "covered by the program", default=False, help_text="Free under program grants approved from now on."
    )

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = "API model"

    def __str__(self) -> str:
        return self.name


class RateLimit(models.Model):
    """The limits of one model for one column of the table (a tier, Legacy, Enterprise default)."""

    api_model = models.ForeignKey(ApiModel, on_delete=models.CASCADE, related_name="rate_limits")
    tier = models.CharField(max_length=16, choices=LimitTier.choices)
    requests_per_second = models.PositiveIntegerField()
    # Only document models count pages; null elsewhere.
    pages_per_minute = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["api_model__sort_order", "tier"]
        constraints = [
            models.UniqueConstraint(fields=["api_model", "tier"], name="rate_limit_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.api_model} {self.get_tier_display()}: {self.requests_per_second} rps"


class EnterpriseRateLimit(models.Model):
    """Custom limits staff set for one Enterprise organization and one model."""

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="enterprise_limits"
    )
    api_model = models.ForeignKey(ApiModel, on_delete=models.CASCADE, related_name="+")
    requests_per_second = models.PositiveIntegerField()
    pages_per_minute = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "api_model"], name="enterprise_limit_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.api_model} for {self.organization}: {self.requests_per_second} rps"


class BonusRate(models.Model):
    """From this purchase size up, a purchase earns this bonus (the largest matching row wins)."""

    min_amount_cents = models.PositiveBigIntegerField(unique=True)
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("10"))],
    )

    class Meta:
        ordering = ["min_amount_cents"]
        constraints = [
            # The product promises "up to +10%"; the database refuses anything more.
            models.CheckConstraint(
                condition=models.Q(percent__gte=0, percent__lte=10), name="bonus_rate_0_to_10"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.percent}% from {self.min_amount_cents / 100:,.2f} USD"


class TierThreshold(models.Model):
    """Purchases in one period that earn a tier, per period length."""

    # The one monthly/yearly choice (the account's period kind); kept under this name too
    # because thresholds read naturally as TierThreshold.Period.MONTHLY.
    Period = PeriodKind

    tier = models.CharField(max_length=16, choices=Tier.choices)
    period = models.CharField(max_length=8, choices=Period.choices)
    min_amount_cents = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["period", "min_amount_cents"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "period"], name="tier_threshold_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_tier_display()} ({self.period}) from {self.min_amount_cents / 100:,.2f} USD"


class BillingPolicy(models.Model):
    """Policy values staff may change; exactly one row (pk=1)."""

    # Organizations created before this day keep Legacy limits...
    legacy_created_before = models.DateField(default=date(2025, 11, 4))
    # ...until this day (from this day on, everyone follows the tiers).
    legacy_until = models.DateField(default=date(2026, 1, 6))
    # A negative balance past this is charged at once rather than at period end.
    overage_threshold_cents = models.PositiveBigIntegerField(default=10_000)
    # Stored with every purchase's acceptance; bump it when the refund policy text changes.
    refund_policy_version = models.CharField(max_length=32, default="2025-11-01")
    # The seller named on receipts (copied onto each receipt when it is issued).
    seller_name = models.CharField(max_length=200, default="AI API Platform Inc.")
    seller_address = models.TextField(
        max_length=500, default="548 Market Street, Suite 100\nSan Francisco, CA 94104\nUnited States"
    )
    seller_tax_id = models.CharField(max_length=64, blank=True, default="EIN 00-0000000")

    class Meta:
        verbose_name_plural = "billing policy"
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="billing_policy_singleton"),
        ]

    def __str__(self) -> str:
        return "Billing policy"

    @classmethod
    def current(cls) -> "BillingPolicy":
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy


TIER_LIMIT_COLUMN = {
    Tier.NONE: LimitTier.BASE,
    Tier.EXPLORE: LimitTier.TIER_1,
    Tier.BUILD: LimitTier.TIER_2,
    Tier.SCALE: LimitTier.TIER_3,
    Tier.ENTERPRISE: LimitTier.ENTERPRISE,
}

# Ordering of tiers, for "the higher of two tiers".
TIER_RANK = {Tier.NONE: 0, Tier.EXPLORE: 1, Tier.BUILD: 2, Tier.SCALE: 3, Tier.ENTERPRISE: 4}
