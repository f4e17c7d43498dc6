# csplatform — everyday commands. Uses the Postgres and Redis that DATABASE_URL and
# REDIS_URL name, else those answering on localhost, else starts embedded ones from the
# locked dependencies (`make services`; data in .local/, `make services-down` stops them).

SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen --no-sync
HOST ?= 127.0.0.1
PORT ?= 8000

# The test suite runs with production-like settings (DEBUG off, a throwaway key).
TEST_ENV := DEBUG=0 SECRET_KEY=tests-only-secret-key-not-for-production-0123456789abcdef \
	SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0
# The demo runs with DEBUG on: console email, no secret needed, plain http.
DEMO_ENV := DEBUG=1
# These targets are for a developer's machine and CI: they may start embedded servers.
# CSPLATFORM_EMBEDDED=0 (make demo CSPLATFORM_EMBEDDED=0) fails instead when none answers.
CSPLATFORM_EMBEDDED ?= 1

.PHONY: help install system-packages system-browser db messages static migrate demo serve test \
	test-fast lint format bench loadtest clean

help:
	@echo "make demo   install, migrate, seed the demo organization and serve web + worker + beat"
	@echo "make services       Postgres and Redis: the configured or local ones, else embedded"
	@echo "make services-down  stop the embedded Postgres and Redis (data stays in .local/)"
	@echo "make test   the whole test suite against the local Postgres and Redis"
	@echo "make test-fast  the in-process tests only (no worker, browser, server or fault test)"
	@echo "make lint   ruff, mypy, the clock rule, the layers (import-linter), bandit"
	@echo "make bench  the benchmarks, printing ratios as JSON"
	@echo "make loadtest  a 3-minute load test on loopback, then every write checked (DURATION=60s USERS=12)"

install: system-packages
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user uv
	$(UV) sync --frozen
	@$(MAKE) --no-print-directory messages static

# Debian's gettext, WeasyPrint's libraries (the board pack's PDF) and Chromium, installed
# when missing (as root), else a stop at once with the command to run: never a late failure.
system-packages:
	@scripts/system_packages.sh gettext weasyprint

system-browser:
	@scripts/system_packages.sh gettext weasyprint chromium npm faketime

# axe-core for the browser tests' accessibility checks, from the npm registry as locked in
# package-lock.json; reinstalled when the lock is newer than the installed copy.
node-deps: node_modules/.package-lock.json

node_modules/.package-lock.json: package.json package-lock.json
	@scripts/system_packages.sh npm
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

# Which Postgres and Redis: DATABASE_URL/REDIS_URL if set, else those answering at
# 127.0.0.1:5432/6379, else embedded servers (scripts/local_services.py says which).
# It also creates the application's role and database (scripts/create_db_role.sh).
.PHONY: services services-down
services: install
	@CSPLATFORM_EMBEDDED=$(CSPLATFORM_EMBEDDED) $(RUN) python scripts/local_services.py up

services-down:
	@$(RUN) python scripts/local_services.py down

# The role and database: `services` runs scripts/create_db_role.sh on whichever server.
db: services

messages:
	@$(DEMO_ENV) $(RUN) python manage.py compilemessages -v0 --ignore=.venv

static:
	@$(DEMO_ENV) $(RUN) python manage.py collectstatic --noinput -v0

migrate: db
	$(DEMO_ENV) $(RUN) python manage.py migrate --noinput -v1

demo: install services migrate
	$(DEMO_ENV) $(RUN) python manage.py seed_demo
	$(DEMO_ENV) $(RUN) python manage.py recompute_metrics --all
	@echo
	@echo "  csplatform is starting at http://$(HOST):$(PORT)/  (Ctrl-C stops web, worker and beat)"
	@echo
	@$(MAKE) --no-print-directory serve

serve:
	@trap 'kill 0' EXIT INT TERM; \
	$(DEMO_ENV) $(RUN) celery -A csplatform worker -l warning --concurrency 2 & \
	$(DEMO_ENV) $(RUN) celery -A csplatform beat -l warning --schedule /tmp/csplatform-celerybeat & \
	$(DEMO_ENV) $(RUN) python manage.py runserver $(HOST):$(PORT) & \
	wait

# Two phases: the fault tests stop and restart Postgres and kill processes, so they run
# alone, after the rest. (Exit status 5 is "no test selected", e.g. PYTEST_ARGS naming
# files of one phase only.) CSPLATFORM_TEST_NOW="2028-02-29T23:30 America/Sao_Paulo"
# runs the suite as of that instant (docs/time.md).
test: system-browser node-deps install services db
	$(TEST_ENV) $(RUN) pytest -m "not faults" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(TEST_ENV) $(RUN) pytest -m faults $(PYTEST_ARGS) || [ $$? -eq 5 ]

# The fast tier, while coding: in-process tests only (pytest markers e2e and faults).
test-fast: install db
	$(TEST_ENV) $(RUN) pytest -m "not e2e and not faults" $(PYTEST_ARGS) || [ $$? -eq 5 ]

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(DEMO_ENV) $(RUN) mypy .
	$(RUN) python scripts/check_clock.py
	$(RUN) lint-imports --no-cache
	$(RUN) python scripts/check_layers.py
	@# bandit warns about every part of an f-string on a line marked `# nosec`: noise.
	set -o pipefail; $(RUN) bandit -q -c pyproject.toml -r accounts billing csplatform dashboards \
		journeys metrics surveys bench loadtest 2>&1 | { grep -v 'nosec encountered' || true; }

format:
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

bench: install services db
	$(TEST_ENV) $(RUN) python -m bench

loadtest: install services db
	$(TEST_ENV) $(if $(DURATION),LOADTEST_DURATION=$(DURATION)) $(if $(USERS),LOADTEST_USERS=$(USERS)) \
		$(RUN) python -m loadtest

clean:
	rm -rf staticfiles .pytest_cache .mypy_cache .ruff_cache
	find . -name '*.mo' -path '*/locale/*' -delete
