"""Creates the demo organization, its owner and a staff user; safe to run again."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Membership, Organization, Role, User
from accounts.services import organization_create

DEMO_PASSWORD = "demo-pass-123"
OWNER_EMAIL = "owner@example.com"
STAFF_EMAIL = "staff@example.com"
ORGANIZATION_NAME = "Demo Organization"


class Command(BaseCommand):
    help = "Seed a demo organization with an owner, and a staff superuser (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        owner, _ = User.objects.get_or_create(email=OWNER_EMAIL)
        owner.set_password(DEMO_PASSWORD)
        owner.save()
        if not Membership.objects.filter(
            user=owner, organization__name=ORGANIZATION_NAME, role=Role.OWNER
        ).exists():
            organization_create(name=ORGANIZATION_NAME, owner=owner)
        staff, _ = User.objects.get_or_create(email=STAFF_EMAIL)
        staff.is_staff = staff.is_superuser = True
        staff.set_password(DEMO_PASSWORD)
        staff.save()
        # Staff need a second factor in the admin; the demo staff user gets one ready.
        TOTPDevice.objects.get_or_create(
            user=staff, confirmed=True, defaults={"name": "Demo authenticator"}
        )
        organizations = Organization.objects.filter(name=ORGANIZATION_NAME).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready ({organizations} demo organization).\n"
                f"  Customer: {OWNER_EMAIL} / {DEMO_PASSWORD}\n"
                f"  Staff:    {STAFF_EMAIL} / {DEMO_PASSWORD}  (admin at /admin/; its 2FA code:\n"
                f"            .venv/bin/python manage.py staff_totp_code {STAFF_EMAIL})"
            )
        )
