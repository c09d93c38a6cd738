"""Default catalog, limits, bonus schedule, tier thresholds and policy (all staff-editable).

Figures from the public pricing page where it gives them (Solar Pro 2 30/50/80 req/s and
Information Extract 10/20/40 req/s for Tiers 1/2/3; Solar Pro 2 $0.15 / $0.60 per 1M
tokens); the rest are our defaults.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

# slug, name, kind, input µ$/1M, output µ$/1M, µ$/page, featured
MODELS = [
    ("solar-pro-2", "Solar Pro 2", "llm", 150_000, 600_000, 0, True),
    ("solar-pro", "Solar Pro", "llm", 250_000, 250_000, 0, False),
    ("solar-mini", "Solar Mini", "llm", 150_000, 150_000, 0, False),
    ("document-parse", "Document Parse", "document", 0, 0, 10_000, True),
    ("information-extract", "Information Extract", "document", 0, 0, 40_000, True),
    ("solar-embedding", "Solar Embedding", "embedding", 100_000, 0, 0, False),
]

# requests/s for base, tier1, tier2, tier3, legacy, enterprise (default custom start)
RPS = {
    "solar-pro-2": (10, 30, 50, 80, 100, 200),
    "solar-pro": (10, 30, 50, 80, 100, 200),
    "solar-mini": (20, 50, 80, 120, 150, 300),
    "document-parse": (2, 10, 20, 40, 20, 100),
    "information-extract": (2, 10, 20, 40, 20, 100),
    "solar-embedding": (20, 50, 100, 200, 200, 400),
}
# pages per minute for document models, same columns
PAGES = {
    "document-parse": (100, 300, 600, 1200, 600, 3000),
    "information-extract": (60, 200, 400, 800, 400, 2000),
}
COLUMNS = ("base", "tier1", "tier2", "tier3", "legacy", "enterprise")

BONUS = [(0, Decimal("0")), (10_000, Decimal("3")), (50_000, Decimal("5")), (500_000, Decimal("10"))]

THRESHOLDS = [
    ("explore", "monthly", 10_000),
    ("build", "monthly", 50_000),
    ("scale", "monthly", 500_000),
    ("explore", "yearly", 120_000),
    ("build", "yearly", 600_000),
    ("scale", "yearly", 6_000_000),
]


def seed(apps, schema_editor):
    ApiModel = apps.get_model("credits", "ApiModel")
    RateLimit = apps.get_model("credits", "RateLimit")
    BonusRate = apps.get_model("credits", "BonusRate")
    TierThreshold = apps.get_model("credits", "TierThreshold")
    BillingPolicy = apps.get_model("credits", "BillingPolicy")
    for order, (slug, name, kind, inp, out, page, featured) in enumerate(MODELS):
        model = ApiModel.objects.create(
            slug=slug,
            name=name,
            kind=kind,
            input_micros_per_million=inp,
            output_micros_per_million=out,
            page_micros=page,
            featured=featured,
            sort_order=order,
        )
        for column, rps, pages in zip(
            COLUMNS, RPS[slug], PAGES.get(slug, (None,) * len(COLUMNS)), strict=True
        ):
            RateLimit.objects.create(
                api_model=model, tier=column, requests_per_second=rps, pages_per_minute=pages
            )
    for minimum, percent in BONUS:
        BonusRate.objects.create(min_amount_cents=minimum, percent=percent)
    for tier, period, minimum in THRESHOLDS:
        TierThreshold.objects.create(tier=tier, period=period, min_amount_cents=minimum)
    BillingPolicy.objects.create(
        pk=1, legacy_created_before=date(2025, 11, 4), legacy_until=date(2026, 1, 6)
    )


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
