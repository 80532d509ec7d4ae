# Streetteam — every command a developer or CI needs. `make help` lists them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1
# The demo's public address (share links, QR codes, emails, the printed logins): where `make run`
# serves, unless SITE_URL is set. A wildcard host is shown as loopback, which browsers open.
DEMO_SITE_URL := $(or $(SITE_URL),http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(PORT))

.DEFAULT_GOAL := help
.PHONY: help install install-test install-prod system-deps demo run test test-pg lint format clean \
	services services-stop run-prod bench money-soak install-mutate mutate

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

$(VENV)/.installed-mutate: $(VENV)/.installed-test pyproject.toml
	$(PY) -m pip install --quiet -e ".[mutate]"
	touch $@

$(VENV)/.installed-prod: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[prod]"
	touch $@

install: $(VENV)/.installed ## Create .venv and install the app

install-test: $(VENV)/.installed-test ## Install what the tests need

install-mutate: $(VENV)/.installed-mutate ## Install mutmut beside the test tools

install-prod: $(VENV)/.installed-prod ## Install the production extras (gunicorn, psycopg)

# The suite drives real Chromium, PostgreSQL and Redis; without them those tests fail, not skip.
system-deps: ## Install Debian's chromium, postgresql, redis-server and wrk if missing (as root)
	@bash .ci/system-deps

demo: install ## Migrate and load the demo data (idempotent)
	$(PY) manage.py migrate --noinput
	SITE_URL=$(DEMO_SITE_URL) $(PY) manage.py seed_demo

run: demo ## Install, migrate, seed, and serve on $(HOST):$(PORT)
	SITE_URL=$(DEMO_SITE_URL) $(PY) manage.py runserver $(HOST):$(PORT)

# PostgreSQL and Redis on loopback, data under var/services (ops/services.py). Ports: 54329 and
# 63799, or PG_PORT=/REDIS_PORT= once (remembered); `python -m ops.services env` prints the URLs.
services: system-deps ## Start PostgreSQL and Redis on loopback (data in var/services)
	$(PYTHON) -m ops.services start $(if $(PG_PORT),--pg-port $(PG_PORT)) $(if $(REDIS_PORT),--redis-port $(REDIS_PORT))
	@$(PYTHON) -m ops.services env

services-stop: ## Stop them (the data stays; rm -rf var/services drops it)
	$(PYTHON) -m ops.services stop

run-prod: install-prod services ## gunicorn + Celery worker + beat, DEBUG=false, on $(HOST):$(PORT)
	$(PY) -m ops.run_prod --host $(HOST) --port $(PORT)

test: install-test system-deps ## Run the whole test suite (the e2e test included)
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-pg

# The money state machine's long run: 2,000 sequences of 50 steps (SEED=<n> replays a failure).
money-soak: install-test ## The money state machine's long run (2,000 sequences; SEED= replays)
	$(PY) -m pytest tests/referrals/test_money_invariants.py -m slow -p no:cacheprovider \
		$(if $(SEED),--hypothesis-seed=$(SEED))

# mutmut over the money services, on a copy in var/mutate; prints the score per module and each
# survivor with its triage (docs/mutation.md); fails on an untriaged survivor. NAMES= re-runs some.
mutate: install-mutate ## Mutation testing of the money code: score and survivors' triage
	$(PY) -m ops.mutate $(NAMES)

test-pg: install-test ## The PostgreSQL concurrency tests, on a throwaway cluster (tests/pg/run.py)
	$(PY) -m tests.pg.run

# Starts its own throwaway PostgreSQL, Redis and gunicorn on loopback; prints `name ours baseline
# ratio` per figure and which targets pass (bench/README.md). About 5-10 minutes on 2 cores.
bench: install-prod system-deps ## Benchmarks: each figure against its baseline, same run
	$(PY) -m bench

lint: install-test ## ruff check + format check + bandit (security lint)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/bandit -q -c pyproject.toml -r .

format: install-test ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: ## Remove the venv, the SQLite file and collected static files
	rm -rf $(VENV) db.sqlite3 staticfiles
