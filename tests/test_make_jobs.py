"""The demo's jobs talk to the demo's localstripe, never to the real Stripe API."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _dry_run(target: str) -> str:
    env = {key: value for key, value in os.environ.items() if not key.startswith("STRIPE_")}
    env["VENV"] = ".venv"
    # -n prints the recipe without running it; .env (if any) must not hold real keys here.
    result = subprocess.run(
        ["make", "-n", "-s", target], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout


def test_make_jobs_points_the_jobs_at_localstripe():
    recipe = _dry_run("jobs")
    assert "STRIPE_API_BASE=http://127.0.0.1:8420 " in recipe
    assert "manage.py run_billing_jobs" in recipe


def test_make_run_runs_the_jobs_every_minute_with_the_localstripe_environment():
    recipe = _dry_run("run")
    exported = recipe.index("export STRIPE_API_BASE=http://127.0.0.1:8420")
    jobs = recipe.index("manage.py run_billing_jobs --every 60")
    assert exported < jobs
