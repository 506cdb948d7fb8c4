# gridvend — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .make
FRONTEND_INPUTS := $(shell find frontend/src frontend/staff frontend/portal -type f -not -name 'schema.d.ts' 2>/dev/null) \
	frontend/package.json frontend/package-lock.json frontend/vite.config.ts frontend/svelte.config.js \
	frontend/tsconfig.json docs/openapi.json

.PHONY: help setup run test lint typecheck contracts pytest e2e frontend openapi bench clean system-deps

help:
	@echo "make run    start gridvend on http://127.0.0.1:8000 with demo data (embedded SQLite)"
	@echo "make test   install what is needed, then lint, types, import contracts and every test"
	@echo "make setup  create/update .venv and frontend/node_modules (idempotent)"
	@echo "make bench  run the benchmarks in bench/"

$(STAMPS):
	@mkdir -p $(STAMPS)

$(STAMPS)/venv: pyproject.toml | $(STAMPS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

$(STAMPS)/npm: frontend/package.json frontend/package-lock.json | $(STAMPS)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

system-deps:
	@bash scripts/ensure-system-deps.sh test

$(STAMPS)/system-run: scripts/ensure-system-deps.sh | $(STAMPS)
	@bash scripts/ensure-system-deps.sh run
	@touch $@

setup: $(STAMPS)/system-run $(STAMPS)/venv $(STAMPS)/npm

frontend/dist/.built: $(STAMPS)/npm $(FRONTEND_INPUTS)
	cd frontend && npm run build
	@touch $@

frontend: frontend/dist/.built

openapi: $(STAMPS)/venv
	$(BIN)/gridvend openapi --output docs/openapi.json

run: setup frontend
	@$(BIN)/gridvend db upgrade
	@test -f var/master.key || $(BIN)/gridvend keys init-master --file var/master.key
	@$(BIN)/gridvend seed-demo --if-empty
	@echo ""
	@echo "  gridvend is starting on http://127.0.0.1:8000/"
	@echo "    staff app:       http://127.0.0.1:8000/staff/"
	@echo "    customer portal: http://127.0.0.1:8000/portal/"
	@echo "    API docs:        http://127.0.0.1:8000/schema/swagger"
	@echo "  demo logins (password for all: gridvend-demo):"
	@echo "    staff:  admin, supervisor, cashier, clerk (billing clerk), engineer, auditor, agent"
	@echo "    portal: customer"
	@echo ""
	@$(BIN)/gridvend serve

lint: $(STAMPS)/venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMPS)/venv
	$(BIN)/mypy

contracts: $(STAMPS)/venv
	$(BIN)/lint-imports

pytest: $(STAMPS)/venv system-deps frontend
	$(BIN)/pytest

test: setup system-deps lint typecheck contracts frontend
	$(BIN)/pytest

e2e: setup system-deps frontend
	$(BIN)/pytest tests/e2e

bench: $(STAMPS)/venv
	$(BIN)/python bench/sts_bench.py
	$(BIN)/python bench/customer_search_bench.py
	$(BIN)/python bench/vend_bench.py
	$(BIN)/python bench/vend_cpu_bench.py

clean:
	rm -rf $(STAMPS) frontend/dist
