"""Runs every due billing job once and exits (cron-safe, safe to run twice at once);
with --every, keeps running them (the demo's `make run` / `make jobs`)."""

import time
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from credits.services.jobs import JOBS, JobsFailed, run_due_jobs


class Command(BaseCommand):
    help = "Run due billing jobs: recharges, overage, bonus expiry and reminders."

    def add_arguments(self, parser):
        parser.add_argument("--only", action="append", choices=sorted(JOBS), help="run only this job")
        parser.add_argument("--now", help="ISO timestamp to run as (for operators replaying a day)")
        parser.add_argument(
            "--every", type=int, metavar="SECONDS", help="run again every SECONDS until stopped"
        )

    def handle(self, *args, **options):
        if options["every"] is not None:
            if options["now"] or options["every"] < 1:
                raise CommandError("--every needs a positive number of seconds and no --now")
            return self._loop(options)
        now = datetime.fromisoformat(options["now"]) if options["now"] else timezone.now()
        if timezone.is_naive(now):
            raise CommandError("--now needs a timezone, e.g. 2026-03-01T00:00:00+00:00")
        try:
            results = run_due_jobs(now=now, only=options["only"])
        except JobsFailed as error:
            raise CommandError(str(error)) from error
        for name, result in results.items():
            self.stdout.write(f"{name}: {result}")

    def _loop(self, options) -> None:
        # A failed run is reported and the loop goes on: the jobs retry their own work.
        while True:
            now = timezone.now()
            try:
                results = run_due_jobs(now=now, only=options["only"])
                self.stdout.write(f"{now:%H:%M:%S} jobs: {results}")
            except JobsFailed as error:
                self.stderr.write(f"{now:%H:%M:%S} {error}")
            self.stdout.flush()
            time.sleep(options["every"])
