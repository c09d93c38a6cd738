"""Runs every due billing job once and exits (cron-safe, safe to run twice at once)."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from credits.services.jobs import JOBS, JobsFailed, run_due_jobs


class Command(BaseCommand):
    help = "Run due billing jobs: recharges, overage, bonus expiry and reminders."

    def add_arguments(self, parser):
        parser.add_argument("--only", action="append", choices=sorted(JOBS), help="run only this job")
        parser.add_argument("--now", help="ISO timestamp to run as (for operators replaying a day)")

    def handle(self, *args, **options):
        now = datetime.fromisoformat(options["now"]) if options["now"] else timezone.now()
        if timezone.is_naive(now):
            raise CommandError("--now needs a timezone, e.g. 2026-03-01T00:00:00+00:00")
        try:
            results = run_due_jobs(now=now, only=options["only"])
        except JobsFailed as error:
            raise CommandError(str(error)) from error
        for name, result in results.items():
            self.stdout.write(f"{name}: {result}")
