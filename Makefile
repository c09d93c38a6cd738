# The commands: `make run` (the demo site on SQLite), `make test` (the whole suite),
# `make lint` (ruff and mypy, as CI runs them first) and `make serve` (the production shape
# on PostgreSQL and Redis: README, Deployment).
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
LOCALSTRIPE_PORT ?= 8420

.PHONY: run jobs serve test lint venv clean bench bench-ingest bench-single bench-credit bench-usage-page

# localstripe as `make run` starts it: the site and the jobs must talk to the same one.
LOCALSTRIPE_ENV := STRIPE_API_BASE=http://127.0.0.1:$(LOCALSTRIPE_PORT) STRIPE_JS_URL=http://127.0.0.1:$(LOCALSTRIPE_PORT)/js.stripe.com/v3/

venv: $(VENV)/.installed

# A Python 3.13 (.python-version) is preferred; any 3.12+ works. pyenv shims and
# Debian's python3 both answer to these names.
$(PY):
	@found=""; for c in python3.13 python3 python3.12; do \
	  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then found=$$c; break; fi; \
	done; \
	if [ -z "$$found" ]; then \
	  echo "error: no Python 3.12 or newer found (3.13 preferred). Install one, e.g. 'apt-get install python3.13' or 'pyenv install 3.13', then run make again." >&2; exit 1; \
	fi; \
	echo "Creating $(VENV) with $$($$found --version)"; \
	$$found -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo ""
	@echo "  Billing portal: http://127.0.0.1:$(PORT)/"
	@echo "  Customer login: owner@example.com / demo-pass-123"
	@echo "  Staff (admin):  staff@example.com / demo-pass-123 at http://127.0.0.1:$(PORT)/admin/"
	@echo ""
	@if [ -n "$$STRIPE_SECRET_KEY" ] || grep -qs '^STRIPE_SECRET_KEY=.' .env; then \
	  echo "  Stripe: the keys in .env (or the environment)"; \
	  DEBUG=True $(PY) manage.py runserver 127.0.0.1:$(PORT); \
	else \
	  echo "  Stripe: localstripe on 127.0.0.1:$(LOCALSTRIPE_PORT) (log: localstripe.log); test card 4242 4242 4242 4242"; \
	  echo "  Billing jobs: every minute against localstripe (log: jobs.log)"; \
	  $(VENV)/bin/localstripe --port $(LOCALSTRIPE_PORT) --from-scratch >localstripe.log 2>&1 & ls_pid=$$!; \
	  export $(LOCALSTRIPE_ENV); \
	  $(PY) manage.py run_billing_jobs --every 60 >jobs.log 2>&1 & jobs_pid=$$!; \
	  trap 'kill $$ls_pid $$jobs_pid 2>/dev/null' EXIT INT TERM; \
	  $(PY) manage.py localstripe_setup --site http://127.0.0.1:$(PORT) && \
	  DEBUG=True $(PY) manage.py runserver 127.0.0.1:$(PORT); \
	fi

# The billing jobs once, against the localstripe of a running `make run` (never the real
# Stripe API unless STRIPE_SECRET_KEY is set, as for `make run`).
jobs: venv
	@if [ -n "$$STRIPE_SECRET_KEY" ] || grep -qs '^STRIPE_SECRET_KEY=.' .env; then \
	  $(PY) manage.py run_billing_jobs; \
	else \
	  $(LOCALSTRIPE_ENV) $(PY) manage.py run_billing_jobs; \
	fi

# Settings from the environment and .env; gunicorn on PORT (default 8000), one Celery worker
# and beat, all stopped by Ctrl-C.
serve: venv
	@# 130 is honcho's answer to Ctrl-C: a normal stop, not an error.
	$(PY) -m billing_portal.serve || [ $$? -eq 130 ]

test: venv
	$(PY) -m pytest

# Both must be clean: CI fails on a new finding. Config in pyproject.toml ([tool.ruff], [tool.mypy]).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Benchmarks (bench/, never part of the suite): each recreates its PostgreSQL database
# (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/billing_usage_bench),
# starts gunicorn with one worker per core and prints its ratio.
bench: bench-ingest bench-single bench-credit bench-usage-page

bench-ingest: venv
	$(PY) bench/usage_ingest.py

bench-single: venv
	$(PY) bench/single_event.py

bench-credit: venv
	$(PY) bench/credit_page.py

bench-usage-page: venv
	$(PY) bench/usage_page.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
