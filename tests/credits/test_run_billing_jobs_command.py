"""`manage.py run_billing_jobs --every N`: what `make run` starts beside the site."""

import pytest
from django.core.management import CommandError, call_command

from credits.management.commands import run_billing_jobs
from credits.services import jobs

pytestmark = pytest.mark.django_db


class Stop(Exception):
    pass


def test_every_runs_the_jobs_again_after_each_pause_and_survives_a_failed_run(monkeypatch, capsys):
    runs = []
    pauses = []

    def run_due_jobs(*, now, only):
        runs.append(now)
        if len(runs) == 1:
            raise jobs.JobsFailed("jobs failed: recharges")
        return {"recharges": "ok"}

    def sleep(seconds):
        pauses.append(seconds)
        if len(pauses) == 3:
            raise Stop

    monkeypatch.setattr(run_billing_jobs, "run_due_jobs", run_due_jobs)
    monkeypatch.setattr(run_billing_jobs.time, "sleep", sleep)

    with pytest.raises(Stop):
        call_command("run_billing_jobs", "--every", "60")

    assert (len(runs), pauses) == (3, [60, 60, 60])
    out, err = capsys.readouterr()
    assert "jobs failed: recharges" in err
    assert out.count("{'recharges': 'ok'}") == 2


@pytest.mark.parametrize(
    "arguments", [["--every", "0"], ["--every", "60", "--now", "2026-01-01T00:00:00+00:00"]]
)
def test_every_needs_a_positive_pause_and_no_replay_time(arguments):
    with pytest.raises(CommandError):
        call_command("run_billing_jobs", *arguments)
