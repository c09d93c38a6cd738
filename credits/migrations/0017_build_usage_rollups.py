"""Rollups for the usage events recorded before rollups existed: one grouped read, one insert."""

from datetime import UTC

from django.db import migrations
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate


def build_rollups(apps, schema_editor):
    UsageEvent = apps.get_model("credits", "UsageEvent")
    UsageRollup = apps.get_model("credits", "UsageRollup")
    groups = (
        UsageEvent.objects.annotate(day=TruncDate("occurred_at", tzinfo=UTC))
        .values("organization_id", "api_model_id", "day")
        .annotate(
            calls=Count("pk"),
            input_tokens_sum=Sum("input_tokens"),
            output_tokens_sum=Sum("output_tokens"),
            pages_sum=Sum("pages"),
            cost=Sum("cost_micros"),
        )
        .order_by()
    )
    UsageRollup.objects.bulk_create(
        (
            UsageRollup(
                organization_id=group["organization_id"],
                api_model_id=group["api_model_id"],
                day=group["day"],
                calls=group["calls"],
                input_tokens=group["input_tokens_sum"],
                output_tokens=group["output_tokens_sum"],
                pages=group["pages_sum"],
                cost_micros=group["cost"],
            )
            for group in groups.iterator(chunk_size=2_000)
        ),
        batch_size=2_000,
    )


def drop_rollups(apps, schema_editor):
    apps.get_model("credits", "UsageRollup").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("credits", "0016_usage_batches_and_rollups")]

    operations = [migrations.RunPython(build_rollups, drop_rollups)]
