"""`make serve`: check what production needs, migrate, collect static files, then run the
Procfile (gunicorn, one Celery worker, celery beat) under honcho until Ctrl-C."""

import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"make serve: {message}\n")
    sys.exit(2)


def _preflight() -> None:
    """Clear errors for the usual first-deploy mistakes, before anything is started."""
    from django.conf import settings
    from django.db import connection

    from billing_portal import health

    if settings.DEBUG:
        _fail("DEBUG is on. This is the production shape: unset DEBUG (or DEBUG=False) in .env.")
    engine = settings.DATABASES["default"]["ENGINE"]
    if not engine.endswith("postgresql"):
        _fail(
            f"DATABASE_URL must point at PostgreSQL (postgres://user:pass@host:5432/name); "
            f"it is {engine.rsplit('.', 1)[-1]}. SQLite is for `make run` only: its writes "
            f"take the whole file, and the money paths rely on row locks."
        )
    try:
        health.check_database()
    except Exception as error:
        _fail(f"cannot reach the database in DATABASE_URL: {error}".strip())
    try:
        health.check_broker()
    except Exception as error:
        # The URL is not printed: it may carry a password.
        _fail(f"the Celery broker in CELERY_BROKER_URL does not answer: {error}".strip())
    finally:
        connection.close()


def main() -> None:
    os.chdir(ROOT)
    import environ

    # .env under the environment, as the settings read it, before the defaults below.
    environ.Env.read_env(ROOT / ".env", overwrite=False)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billing_portal.settings")
    # Hashed file names with far-future cache headers; the processes below inherit it.
    os.environ.setdefault("STATICFILES_BACKEND", MANIFEST_STORAGE)
    # honcho hands PORT to the web process (and PORT+100, +200 to the others, unused).
    os.environ.setdefault("PORT", "8000")
    # The processes are found next to this Python (the virtualenv's bin).
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

    import django
    from django.core.management import call_command

    django.setup()
    _preflight()
    # Migrations run before the new code serves (README, Deployment: upgrades).
    call_command("migrate", interactive=False, verbosity=1)
    call_command("collectstatic", interactive=False, verbosity=0)
    from django.db import connection

    connection.close()

    honcho = shutil.which("honcho")
    if honcho is None:
        _fail("honcho is not installed: run `make venv`.")
    # `-e /dev/null`: honcho would otherwise read .env over the environment; settings read it
    # themselves, with the environment winning, as everywhere else.
    os.execv(
        honcho, [honcho, "start", "--no-colour", "-f", str(ROOT / "Procfile"), "-e", os.devnull]
    )


if __name__ == "__main__":
    main()
