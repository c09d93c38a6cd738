"""The two staff groups: support reads everything and answers applications and contact
forms; finance also approves refunds, adjusts credits and edits prices, limits and bonus."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ("accounts", "credits", "otp_totp")

SUPPORT_EXTRA = [
    ("credits", "change_programapplication"),
    ("credits", "change_enterpriseinquiry"),
    ("credits", "change_paymentcontactrequest"),
]
FINANCE_EXTRA = [
    ("credits", "change_refundrequest"),
    # Staff credit adjustments are written as ledger entries.
    ("credits", "add_ledgerentry"),
    ("credits", "change_creditaccount"),
    ("credits", "change_apimodel"),
    ("credits", "add_ratelimit"),
    ("credits", "change_ratelimit"),
    ("credits", "add_bonusrate"),
    ("credits", "change_bonusrate"),
    ("credits", "delete_bonusrate"),
    ("credits", "change_tierthreshold"),
    ("credits", "change_billingpolicy"),
    ("credits", "add_enterpriseratelimit"),
    ("credits", "change_enterpriseratelimit"),
    ("credits", "delete_enterpriseratelimit"),
    ("credits", "change_programgrant"),
]


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def permissions(pairs):
        return [
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in pairs
        ]

    views = list(
        Permission.objects.filter(content_type__app_label__in=APPS, codename__startswith="view_")
    )
    support, _ = Group.objects.get_or_create(name="support")
    support.permissions.set(views + permissions(SUPPORT_EXTRA))
    finance, _ = Group.objects.get_or_create(name="finance")
    finance.permissions.set(views + permissions(SUPPORT_EXTRA + FINANCE_EXTRA))


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0009_usage"),
        ("accounts", "0002_audit"),
        ("otp_totp", "0003_add_timestamps"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
