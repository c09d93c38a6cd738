"""Ledger indexes for reads that stay flat however long an account's or a lot's history is.

Built without locking the ledger on PostgreSQL: migrations run while the previous release
still serves (README, "First deploy and upgrades") and usage writes to the ledger all the
time, so the indexes are created and dropped CONCURRENTLY, outside a transaction; each new
one exists before the one it replaces goes. Django's state gets the same change as the plain
operations would make (and SQLite, with no concurrent builds, plain statements)."""

import django.db.models.deletion
from django.db import migrations, models

LOT_LATEST = models.Index(fields=["lot", "created_at"], name="credits_led_lot_id_f42375_idx")
ACCOUNT_PAGE = models.Index(fields=["account", "created_at", "id"], name="credits_led_account_f17a2a_idx")
ACCOUNT_BEFORE = models.Index(fields=["account", "created_at"], name="credits_led_account_16cb03_idx")
# The index the lot foreign key had (db_index), by the name Django gave it.
LOT_BEFORE = models.Index(fields=["lot"], name="credits_ledgerentry_lot_id_e8f6f51f")


def _swap(schema_editor, model, *, add, remove):
    concurrently = {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}
    for index in add:
        schema_editor.add_index(model, index, **concurrently)
    for index in remove:
        schema_editor.remove_index(model, index, **concurrently)


def forwards(apps, schema_editor):
    model = apps.get_model("credits", "LedgerEntry")
    _swap(schema_editor, model, add=[ACCOUNT_PAGE, LOT_LATEST], remove=[ACCOUNT_BEFORE, LOT_BEFORE])


def backwards(apps, schema_editor):
    model = apps.get_model("credits", "LedgerEntry")
    _swap(schema_editor, model, add=[ACCOUNT_BEFORE, LOT_BEFORE], remove=[ACCOUNT_PAGE, LOT_LATEST])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("credits", "0021_refunds_paid_after_the_claim"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AddIndex(model_name="ledgerentry", index=ACCOUNT_PAGE),
                migrations.RemoveIndex(model_name="ledgerentry", name=ACCOUNT_BEFORE.name),
                migrations.AddIndex(model_name="ledgerentry", index=LOT_LATEST),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="lot",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="credits.creditlot",
                    ),
                ),
            ],
        ),
    ]
