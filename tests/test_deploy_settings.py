"""Production settings pass Django's deployment checklist without a warning."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "False",
    "SECRET_KEY": "x7#Qm2!pZ9@vL4$wR8^tK1&yN6*bJ3(cF5)hD0_gS-eA+uT=oI[iP]lM{kO}jU|",
    "ALLOWED_HOSTS": "billing.example.com",
    "SECURE_SSL_REDIRECT": "True",
    "SECURE_HSTS_SECONDS": "31536000",
    "SESSION_COOKIE_SECURE": "True",
    "CSRF_COOKIE_SECURE": "True",
    "DATABASE_URL": "sqlite:///:memory:",
    "EMAIL_URL": "smtp+tls://mailer:secret@smtp.example.com:587",
}


def _check_deploy(extra: dict[str, str]) -> subprocess.CompletedProcess:
    # The browser tests' async-safety switch must not leak into a "production" process.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"} | extra
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _check_deploy(PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_flags_development_defaults():
    result = _check_deploy({**PRODUCTION_ENV, "SECURE_HSTS_SECONDS": "0", "SECRET_KEY": ""})

    assert result.returncode != 0
    assert "security.W004" in result.stdout + result.stderr
