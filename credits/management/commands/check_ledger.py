"""Verifies the ledger's invariants over the whole database (after a restore, or nightly)."""

from django.core.management.base import BaseCommand, CommandError

from credits.selectors.ledger import ledger_invariant_violations
from credits.selectors.usage import usage_rollup_violations


class Command(BaseCommand):
    help = (
        "Check that every balance equals its entries and lots, no lot is out of bounds, and "
        "every daily usage rollup equals its usage events, and every account's periods form a "
        "timeline holding each of its purchases."
    )

    def handle(self, *args, **options):
        problems = ledger_invariant_violations() + usage_rollup_violations()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} ledger invariant violation(s)")
        self.stdout.write(
            self.style.SUCCESS(
                "Ledger consistent: every balance equals its entries and lots, every rollup its "
                "events; periods form a timeline."
            )
        )
