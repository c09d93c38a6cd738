"""Every organization has its credit account from its creation on (see
credits.services.ledger.credit_account_create); this makes one for each organization that
existed before, so reads never need to create one."""

from django.db import migrations


def create_missing_accounts(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    CreditAccount = apps.get_model("credits", "CreditAccount")
    missing = Organization.objects.filter(credit_account__isnull=True).values_list("pk", flat=True)
    CreditAccount.objects.bulk_create(
        [CreditAccount(organization_id=pk) for pk in missing.iterator()], batch_size=1000
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("credits", "0014_staff_operations"),
    ]

    operations = [
        # Nothing to undo: the accounts stay (they hold no money until a purchase).
        migrations.RunPython(create_missing_accounts, migrations.RunPython.noop),
    ]
