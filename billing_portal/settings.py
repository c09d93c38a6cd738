"""Settings for the billing portal: everything that varies comes from the environment."""

from pathlib import Path

import environ
from django.utils.csp import CSP

from billing_portal.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["127.0.0.1", "localhost"]),
    CSRF_TRUSTED_ORIGINS=(list, []),
    SECURE_SSL_REDIRECT=(bool, False),
    SECURE_HSTS_SECONDS=(int, 0),
    SECURE_PROXY_SSL_HEADER_ENABLED=(bool, False),
    SESSION_COOKIE_SECURE=(bool, False),
    CSRF_COOKIE_SECURE=(bool, False),
)
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env("DEBUG")
# A development key only: `check --deploy` flags it, and production sets SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-dev-only-key-change-me-in-production")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "billing_portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "accounts",
    "credits",
    # The project level: commands that use both apps (seed_demo).
    "billing_portal.apps.BillingPortalConfig",
]

# What every request runs, the machine API's too (/api/: bearer keys, JSON, no cookies; it
# runs with these only, billing_portal/api_handler.py says why).
API_MIDDLEWARE = [
    # First: every line logged while a request runs carries its id, and the line for the
    # request itself is written when everything below has answered.
    "billing_portal.logs.RequestLogMiddleware",
    # Before host checks, the HTTPS redirect, sessions and CSP: see billing_portal/health.py.
    "billing_portal.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outermost but one: it turns every error answer under /api/ (Django's 404 and 405
    # pages, a body too large, a crash) into the API's JSON error shape.
    "credits.middleware.ApiJsonErrorsMiddleware",
    # Checks the Host header against ALLOWED_HOSTS (and adds the slash to page URLs).
    "django.middleware.common.CommonMiddleware",
]
MIDDLEWARE = [
    *API_MIDDLEWARE,
    # The browser's: the pages run these as well.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "billing_portal.urls"
WSGI_APPLICATION = "billing_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.organizations",
                "billing_portal.context_processors.support",
                "billing_portal.context_processors.script_prefix",
            ],
            # {% url %} and {% static %} remembering what cannot change while a worker runs
            # (templatetags/links.py); {% extends %} finding the layout's blocks once, and
            # {% remember %} for the main navigation (templatetags/layout.py).
            "builtins": ["billing_portal.templatetags.links", "billing_portal.templatetags.layout"],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Money paths lock rows; on PostgreSQL every request is not wrapped, services open
# their own atomic blocks.
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# SQLite (`make run`) serves a threaded web server, Stripe's webhooks and the jobs at once:
# the write-ahead log lets readers run beside the one writer; IMMEDIATE takes the write
# lock when a transaction begins, so two writers queue instead of one failing with
# "database is locked" when it upgrades a read lock; and a writer waits up to 20 s
# (sqlite3's `timeout`, its busy timeout) for the lock instead of failing at once.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {**SQLITE_OPTIONS, **DATABASES["default"].get("OPTIONS", {})}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # An unreachable server fails /readyz and requests in seconds, not after the OS's
    # TCP timeout. `?connect_timeout=N` in DATABASE_URL overrides it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# PostgreSQL prepares the usage post's, the memberships' and the credit page's statements once
# per connection (billing_portal/compiled_queries.py). Off (False) behind a transaction-pooling
# PgBouncer older than 1.22, which cannot keep prepared statements; Django's own queries are
# never prepared.
DATABASE_PREPARED_STATEMENTS = env.bool("DATABASE_PREPARED_STATEMENTS", default=True)

# Throttling counters; production points CACHE_URL at Redis so all workers share them.
CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://"),
}
# How long a worker may keep using the API keys, catalog, rate limits, thresholds and policy
# it read (seconds): the bound on how long a revoked key or a changed price can still be used
# by other workers (credits/selectors/process_cache.py). 0 reads them on every request.
PROCESS_CACHE_SECONDS = env.float("PROCESS_CACHE_SECONDS", default=5.0)
# bench/ only: serves /bench/bare/, a logged-in view that loads nothing but the session and
# the user, as the yardstick the benchmarks compare pages against. Never on in production.
BENCH_VIEWS = env.bool("BENCH_VIEWS", default=False)

AUTH_USER_MODEL = "accounts.User"
# Called with organization= in the transaction that creates an organization: the wiring
# that lets credits keep one account per organization while accounts never imports credits.
ORGANIZATION_CREATED_HOOKS = ["credits.services.ledger.credit_account_create"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
# Flash messages live in the session (server side), not in a cookie: the cookie is signed
# but readable, and a message may carry a secret shown once (a new API key).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# Staff need a second factor (TOTP) for the admin; only tests that are not about 2FA turn
# this off.
ADMIN_REQUIRE_OTP = env.bool("ADMIN_REQUIRE_OTP", default=True)
OTP_TOTP_ISSUER = "AI API Billing"
LOGIN_REDIRECT_URL = "credits:credit"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
# `make serve` (production) sets STATICFILES_BACKEND to whitenoise's compressed manifest
# storage: hashed names that whitenoise serves with a one-year immutable Cache-Control. The
# default needs no collectstatic, for `make run` and the tests.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}
# Uploaded files (program proofs) are private: served only through a staff-only view.
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "private_media")))

# EMAIL_URL (smtp://user:pass@host:587/?tls=True, consolemail://) becomes Django 6.1's MAILERS.
_email = env.email("EMAIL_URL", default="consolemail://")
_smtp_options = {
    "host": _email.get("EMAIL_HOST"),
    "port": _email.get("EMAIL_PORT"),
    "username": _email.get("EMAIL_HOST_USER"),
    "password": _email.get("EMAIL_HOST_PASSWORD"),
    "use_tls": _email.get("EMAIL_USE_TLS", False),
    "use_ssl": _email.get("EMAIL_USE_SSL", False),
    "timeout": 10,
}
MAILERS = {
    "default": {
        "BACKEND": _email["EMAIL_BACKEND"],
        "OPTIONS": _smtp_options if _email["EMAIL_BACKEND"].endswith("smtp.EmailBackend") else {},
    }
}
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="billing@example.com")
# Where the footer's "Contact support" link writes to.
SUPPORT_EMAIL = env("SUPPORT_EMAIL", default="support@example.com")
# The portal's address as customers reach it: links in e-mails (billing history, receipts).
PORTAL_URL = env("PORTAL_URL", default="http://127.0.0.1:8000").rstrip("/")
# Who hears about Enterprise inquiries and program applications (comma-separated in the env).
STAFF_NOTIFICATION_EMAILS = env.list(
    "STAFF_NOTIFICATION_EMAILS", default=["billing-staff@example.com"]
)

# Security. Production sets these from the environment; behind a TLS-terminating proxy
# set SECURE_PROXY_SSL_HEADER_ENABLED=True so Django trusts X-Forwarded-Proto.
SECURE_SSL_REDIRECT = env("SECURE_SSL_REDIRECT")
SECURE_HSTS_SECONDS = env("SECURE_HSTS_SECONDS")
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if env("SECURE_PROXY_SSL_HEADER_ENABLED"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env("SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = env("CSRF_COOKIE_SECURE")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Stripe. Without real keys the SDK and the page talk to localstripe on loopback. Its
# stand-in secrets are public: `check --deploy` refuses them (credits/checks.py).
LOCALSTRIPE_SECRETS = {
    "STRIPE_SECRET_KEY": "sk_test_localstripe",
    "STRIPE_WEBHOOK_SECRET": "whsec_localstripe",
}
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default=LOCALSTRIPE_SECRETS["STRIPE_SECRET_KEY"])
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="pk_test_localstripe")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default=LOCALSTRIPE_SECRETS["STRIPE_WEBHOOK_SECRET"])
# Empty means the real Stripe API; make run points it at localstripe.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
STRIPE_JS_URL = env("STRIPE_JS_URL", default="https://js.stripe.com/v3/")

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
# The queue the worker reads and beat sends to; a separate name lets two deployments (or a
# test) share one Redis without taking each other's jobs.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", default="celery")
CELERY_WORKER_CONCURRENCY = env.int("CELERY_WORKER_CONCURRENCY", default=None)
# The worker logs through LOGGING (billing_portal/celery.py), not Celery's own handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Beat remembers when each entry last ran in this file (one per beat process).
CELERY_BEAT_SCHEDULE_FILENAME = env(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "celerybeat-schedule")
)
# Every job is idempotent and claims its work with row locks, so running each minute (and
# overlapping with cron or a second beat) is safe. The interval is an env var so a test can
# see beat fire within seconds.
CELERY_BEAT_SCHEDULE = {
    "billing-jobs-every-minute": {
        "task": "credits.run_billing_jobs",
        "schedule": env.float("BILLING_JOBS_INTERVAL_SECONDS", default=60.0),
    },
}


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL, for the CSP allow-list."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


_stripe_origins = sorted({_origin(STRIPE_JS_URL), "https://js.stripe.com"})
# Scripts only from ourselves and Stripe.js; no inline script at all. Stripe's card element
# lives in iframes and calls its API, hence frame-src and connect-src.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, *_stripe_origins],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "frame-src": [CSP.SELF, *_stripe_origins, "https://hooks.stripe.com"],
    "connect-src": [CSP.SELF, *_stripe_origins, "https://api.stripe.com"],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# One line per request and per job run, with the request id; LOG_FORMAT=json for a log
# shipper, key=value text otherwise. Secrets and card numbers are masked (billing_portal/logs.py).
LOGGING = logging_config(
    log_format=env("LOG_FORMAT", default="text"), level=env("LOG_LEVEL", default="INFO")
)
