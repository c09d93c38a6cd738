"""Celery tasks: thin wrappers around the job services (beat runs them every minute)."""

from datetime import datetime

from celery import shared_task
from django.utils import timezone

from credits.services.jobs import run_due_jobs


@shared_task(name="credits.run_billing_jobs")
def run_billing_jobs(now: str | None = None) -> dict[str, str]:
    when = datetime.fromisoformat(now) if now else timezone.now()
    return {name: str(result) for name, result in run_due_jobs(now=when).items()}
