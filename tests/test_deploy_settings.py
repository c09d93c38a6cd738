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
    "STRIPE_SECRET_KEY": "sk_live_51Hx9example",
    "STRIPE_WEBHOOK_SECRET": "whsec_9f3kexample",
}


def _check_deploy(extra: dict[str, str]) -> subprocess.CompletedProcess:
    # The browser tests' async-safety switch must not leak into a "production" process, nor
    # Stripe settings of the environment into one that tests them.
    inherited = {
        k: v
        for k, v in os.environ.items()
        if k != "DJANGO_ALLOW_ASYNC_UNSAFE" and not k.startswith("STRIPE_")
    }
    env = inherited | extra
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


def test_check_deploy_refuses_localstripes_public_stripe_secrets():
    """With localstripe's webhook secret anyone could sign a "payment succeeded" event."""
    result = _check_deploy({k: v for k, v in PRODUCTION_ENV.items() if not k.startswith("STRIPE_")})

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "credits.E001" in output and "STRIPE_SECRET_KEY" in output
    assert "credits.E002" in output and "STRIPE_WEBHOOK_SECRET" in output


def test_check_deploy_refuses_an_empty_webhook_secret():
    result = _check_deploy({**PRODUCTION_ENV, "STRIPE_WEBHOOK_SECRET": ""})

    assert result.returncode != 0
    assert "credits.E002" in result.stdout + result.stderr
