"""The ledger filtered by a kind other than usage (grants, adjustments, expiries) read
straight off an index: without it, the newest page of a rare kind walked every entry of the
account (77 ms over a million per-call entries; 1.1 ms with it). Usage entries, most of the
ledger and written all the time, stay out of it: it is 16 kB where the whole ledger's would
be tens of MB, and a usage batch does not write to it.

Built CONCURRENTLY on PostgreSQL, outside a transaction, as 0022's indexes were: usage
writes to the ledger while the previous release still serves."""

from django.db import migrations, models

ACCOUNT_KIND_PAGE = models.Index(
    fields=["account", "kind", "created_at", "id"],
    name="credits_led_account_kind_page",
    condition=~models.Q(kind="usage"),
)


def _options(schema_editor):
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def forwards(apps, schema_editor):
    model = apps.get_model("credits", "LedgerEntry")
    schema_editor.add_index(model, ACCOUNT_KIND_PAGE, **_options(schema_editor))


def backwards(apps, schema_editor):
    model = apps.get_model("credits", "LedgerEntry")
    schema_editor.remove_index(model, ACCOUNT_KIND_PAGE, **_options(schema_editor))


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("credits", "0022_ledger_entry_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[migrations.AddIndex(model_name="ledgerentry", index=ACCOUNT_KIND_PAGE)],
        ),
    ]
