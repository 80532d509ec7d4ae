# Streetteam — every command a developer or CI needs. `make help` lists them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1

.DEFAULT_GOAL := help
.PHONY: help install install-test browser demo run test test-pg lint format clean

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed ## Create .venv and install the app

install-test: $(VENV)/.installed-test ## Install what the tests need

# The e2e tests drive Debian's Chromium (never `playwright install`); without it they fail, not skip.
browser: ## Install Debian's Chromium for the e2e tests if missing (as root)
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "/usr/bin/chromium is missing: run 'sudo apt-get install chromium'" >&2; fi; }

demo: install ## Migrate and load the demo data (idempotent)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo

run: demo ## Install, migrate, seed, and serve on $(HOST):$(PORT)
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install-test browser ## Run the whole test suite (the e2e test included)
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-pg

test-pg: install-test ## The PostgreSQL concurrency tests, on a throwaway cluster (tests/pg/run.py)
	$(PY) -m tests.pg.run

lint: install-test ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-test ## Apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean: ## Remove the venv, the SQLite file and collected static files
	rm -rf $(VENV) db.sqlite3 staticfiles
