"""Celery wiring: the same job services as `run_billing_jobs`, on a worker with beat."""

import json
import logging
import logging.config
import os
import time
from typing import Any

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")

app = Celery("billing_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

job_logger = logging.getLogger("billing_portal.jobs")
_started: dict[str, float] = {}


@setup_logging.connect
def _use_django_logging(**_: Any) -> None:
    # The worker and beat log through Django's LOGGING (same format, same scrubbing) instead
    # of Celery's own handlers.
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@task_prerun.connect
def _job_started(task_id: str, task: Any, **_: Any) -> None:
    from billing_portal.logs import log_context

    _started[task_id] = time.monotonic()
    log_context.set({"task_id": task_id, "task": task.name})


@task_postrun.connect
def _job_finished(task_id: str, task: Any, retval: Any = None, state: str = "", **_: Any) -> None:
    """One line per job run: which task, how it ended, how long, and what it did."""
    from billing_portal.logs import log_context

    started = _started.pop(task_id, None)
    duration_ms = round((time.monotonic() - started) * 1000, 1) if started is not None else -1
    job_logger.log(
        logging.INFO if state == "SUCCESS" else logging.ERROR,
        "job %s %s",
        task.name,
        state,
        extra={
            "state": state,
            "duration_ms": duration_ms,
            "result": json.dumps(retval, default=str)[:500],
        },
    )
    log_context.set(None)
