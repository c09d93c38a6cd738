"""The timeline's rules in the database, now that 0019 rebuilt it: one first period per
account, each period ending on a day no other ends on, and on PostgreSQL no two periods of an
account overlapping (an exclusion constraint over their date ranges, with btree_gist for the
account column) and every period but the first starting where another ends (a foreign key
from (account, follows_on) to (account, ends_on)): together, no overlap and no gap.
The account's anchor and kind are gone: schedules say how periods are cut."""

from django.db import migrations, models

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE credits_commitmentperiod ADD CONSTRAINT period_no_overlap "
    "EXCLUDE USING gist (account_id WITH =, daterange(starts_on, ends_on) WITH &&)",
    # Checked at once (not deferred), so a gap fails in the statement that makes it.
    "ALTER TABLE credits_commitmentperiod ADD CONSTRAINT period_follows_a_period "
    "FOREIGN KEY (account_id, follows_on) "
    "REFERENCES credits_commitmentperiod (account_id, ends_on)",
]
POSTGRES_BACKWARD = [
    "ALTER TABLE credits_commitmentperiod DROP CONSTRAINT IF EXISTS period_follows_a_period",
    "ALTER TABLE credits_commitmentperiod DROP CONSTRAINT IF EXISTS period_no_overlap",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0019_rebuild_period_timeline"),
    ]

    operations = [
        migrations.RemoveField(model_name="creditaccount", name="anchor_date"),
        migrations.RemoveField(model_name="creditaccount", name="period_kind"),
        migrations.AddConstraint(
            model_name="commitmentperiod",
            constraint=models.UniqueConstraint(fields=("account", "ends_on"), name="period_unique_end"),
        ),
        migrations.AddConstraint(
            model_name="commitmentperiod",
            constraint=models.UniqueConstraint(
                condition=models.Q(("follows_on__isnull", True)),
                fields=("account",),
                name="period_one_first",
            ),
        ),
        migrations.AddConstraint(
            model_name="commitmentperiod",
            constraint=models.CheckConstraint(
                condition=models.Q(("purchased_cents__gte", 0)), name="period_purchases_not_negative"
            ),
        ),
        migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD)),
    ]
