"""Creates the demo organization, its owner and a staff user, with a purchase and usage; safe to
run again. It lives at the project level because it uses both apps (accounts never imports
credits)."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Membership, Organization, Role, User
from accounts.services import organization_create
from credits.models import PurchaseSource
from credits.services.purchases import purchase_create, record_purchase
from credits.services.usage import record_usage_batch, validate_usage_batch

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
        _seed_activity(owner)
        organizations = Organization.objects.filter(name=ORGANIZATION_NAME).count()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready ({organizations} demo organization).\n"
                f"  Customer: {OWNER_EMAIL} / {DEMO_PASSWORD}\n"
                f"  Staff:    {STAFF_EMAIL} / {DEMO_PASSWORD}  (admin at /admin/; its 2FA code:\n"
                f"            .venv/bin/python manage.py staff_totp_code {STAFF_EMAIL})"
            )
        )


def _seed_activity(owner: User) -> None:
    """A first purchase and two weeks of API usage, so the pages have something to show.

    The purchase is recorded as made by staff (no card was charged); usage goes through the
    same validation, pricing and ledger path as the machine API. Both are keyed, so running
    the seed again adds nothing."""
    organization = Organization.objects.get(name=ORGANIZATION_NAME, memberships__user=owner)
    now = timezone.now()
    bought = now - timedelta(days=14)
    purchase = purchase_create(
        organization=organization,
        amount_cents=50_000,
        key=f"demo-seed-purchase-{organization.pk}",
        created_by=None,
        refund_policy_version="demo",
        refund_policy_accepted_at=bought,
        now=bought,
        source=PurchaseSource.STAFF,
    )
    record_purchase(purchase_id=purchase.pk, now=bought)
    events = []
    for day in range(14):
        at = (now - timedelta(days=13 - day)).replace(microsecond=0)
        events.append({
            "event_id": f"demo-{organization.pk}-{day}-llm", "organization": organization.pk,
            "model": "solar-pro-2", "input_tokens": 2_000_000 + day * 150_000,
            "output_tokens": 600_000 + day * 40_000, "occurred_at": at.isoformat(),
        })
        events.append({
            "event_id": f"demo-{organization.pk}-{day}-parse", "organization": organization.pk,
            "model": "document-parse", "pages": 120 + day * 9, "occurred_at": at.isoformat(),
        })
    record_usage_batch(events=validate_usage_batch(payload={"events": events}), api_key=None, now=now)
