"""The background jobs, each one service function, run together by `run_billing_jobs`."""

import logging
from collections.abc import Callable
from datetime import datetime

from credits.services import (
    alerts,
    ledger,
    overage,
    program_reminders,
    receipts,
    recharge_jobs,
    refunds,
    reminders,
)

logger = logging.getLogger(__name__)

# Order matters: expire bonus before anything that reads balances.
JOBS: dict[str, Callable[..., object]] = {
    "expire_bonus_lots": ledger.expire_bonus_lots,
    "recharges": recharge_jobs.run_recharges,
    "overage_charges": overage.charge_due_overages,
    "unpaid_refunds": refunds.retry_unpaid_refunds,
    "bonus_expiry_reminders": reminders.send_bonus_expiry_reminders,
    "program_grant_reminders": program_reminders.remind_grant_endings,
    # After the money jobs, so balances and receipts are as they left them.
    "balance_alerts": alerts.check_all_alerts,
    "receipt_emails": receipts.send_unsent_receipts,
}


class JobsFailed(Exception):
    code = "jobs_failed"


def run_due_jobs(*, now: datetime, only: list[str] | None = None) -> dict[str, object]:
    """Run every job once. Each is idempotent and safe to run twice at once; one failing
    job does not stop the others, but the run reports failure."""
    results: dict[str, object] = {}
    failed = []
    for name, job in JOBS.items():
        if only and name not in only:
            continue
        try:
            results[name] = job(now=now)
        except Exception as error:
            # Logged with its traceback and reported; the next run retries the job.
            logger.exception("billing job %s failed", name)
            results[name] = f"failed: {error}"
            failed.append(name)
    if failed:
        raise JobsFailed(f"jobs failed: {', '.join(failed)}; results: {results}")
    return results
