# Streetteam — every command a developer or CI needs. `make help` lists them.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
HOST ?= 127.0.0.1

.DEFAULT_GOAL := help
.PHONY: help install install-test system-deps demo run test test-pg lint format clean

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

# The suite drives real Chromium, PostgreSQL and Redis; without them those tests fail, not skip.
system-deps: ## Install Debian's chromium, postgresql and redis-server if missing (as root)
	@bash .ci/system-deps

demo: install ## Migrate and load the demo data (idempotent)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo

run: demo ## Install, migrate, seed, and serve on $(HOST):$(PORT)
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install-test system-deps ## Run the whole test suite (the e2e test included)
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
