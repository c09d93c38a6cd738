"""Cron entry point: charge every negative balance that is due (period end or threshold)."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from credits.services.overage import charge_due_overages


class Command(BaseCommand):
    help = "Charge due overage (negative balances) to default cards."

    def handle(self, *args, **options):
        charges = charge_due_overages(now=timezone.now())
        for charge in charges:
            self.stdout.write(f"{charge.key}: {charge.amount_cents} cents, {charge.status}")
