"""Gunicorn settings for the web process (`gunicorn -c python:billing_portal.gunicorn`).

Every value can be set from the environment (or .env), so the Procfile line stays the same
on one machine, in systemd or in a container.
"""

import multiprocessing
import os
from pathlib import Path

import environ

from billing_portal.logs import logging_config

environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
# Sync workers: each holds one request at a time, and the pages are short database work.
# (2 x cores) + 1 is gunicorn's own rule of thumb: one waits on PostgreSQL while another runs.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
# A request that takes longer is killed (and logged by gunicorn). Pages are short database
# work; only a call to Stripe can wait long (the SDK allows 80 s). Killing a worker there is
# safe: the purchase and its key are written before Stripe is called, and the webhook grants
# the credits (tests/reliability/test_stripe_faults.py). Keep the load balancer's idle
# timeout above this value.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM, in-flight requests get this long to finish.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# Behind a load balancer keeping connections open between requests.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# A worker is replaced after this many requests (jittered so they do not all restart at
# once), which bounds any slow memory growth.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# The request line comes from Django (billing_portal.logs), with its request id and in the
# chosen format; gunicorn's own access log would repeat it.
accesslog = None
# Gunicorn's own lines (boot, worker timeouts) in the same format as the site's.
_log_level = os.environ.get("LOG_LEVEL", "INFO").upper()
logconfig_dict = logging_config(
    log_format=os.environ.get("LOG_FORMAT", "text"), level=_log_level
) | {"loggers": {"gunicorn.error": {"level": _log_level, "propagate": True}}}
