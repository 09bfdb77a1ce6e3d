# Pedigree's tasks. `make demo` and `make test` set up everything they need on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
# The demo's market data ships inside these wheels (installed without their dependencies).
DEMO_DATA := skfolio==1.12.2 arch==8.0.0

.PHONY: help venv dev web demo test test-fast lint format bench bench-cli bench-ui bench-compare system-deps browser clean

help:
	@echo "make demo           set up and run the quant research demo on the embedded store"
	@echo "make test           set up and run the whole test suite (lint, types, tests)"
	@echo "make bench          run the speed benchmarks (figures go to docs/performance.md)"
	@echo "make bench-cli      time the read commands as whole processes on 10,000 runs (issue 18)"
	@echo "make bench-ui       time the web UI's pages in Chromium over 100,000 runs (issue 13)"
	@echo "make bench-compare  run the side-by-side benchmarks against MLflow and DVC"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

venv: $(BIN)/python

# The development install: Pedigree editable, with every extra the tests exercise.
dev: venv web
	$(PIP) install -e ".[dev]"
	$(PIP) install --no-deps $(DEMO_DATA)

# The web UI's third-party JavaScript (uPlot, Cytoscape.js with dagre; axe-core for the tests)
# from the npm registry through web/package-lock.json, bundled by esbuild into
# src/pedigree/web/static/dist (never committed). Rebuilt when the lockfile or the sources change.
WEB_DIST := src/pedigree/web/static/dist/app.js
web: $(WEB_DIST)

$(WEB_DIST): web/package.json web/package-lock.json web/build.mjs web/src/app.js
	cd web && npm ci --no-audit --no-fund --loglevel=error
	cd web && node build.mjs

demo: venv web
	@echo "installing Pedigree and the demo's packages into $(VENV) (a minute or so the first time)"
	$(PIP) install -e ".[demo,server]"
	$(PIP) install --no-deps $(DEMO_DATA)
	$(BIN)/python examples/quant/demo.py

# PostgreSQL's server binaries (the tests start their own throwaway cluster).
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then \
		echo "installing PostgreSQL server binaries"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi
	@# strace: pedigree run --trace os|auto (OS-level file capture, docs/capture.md)
	@if ! command -v strace >/dev/null; then \
		echo "installing strace"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null; \
	fi

# Chromium for the report tests (playwright drives the system's browser, never downloads one).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing chromium"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

lint: dev
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

format: dev
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

test: dev system-deps browser lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

bench: dev system-deps
	$(BIN)/python benchmarks/run.py

bench-cli: dev
	$(BIN)/python benchmarks/bench_cli.py

bench-ui: dev browser
	$(BIN)/python benchmarks/bench_ui.py

# The side-by-side benchmark gets its own virtualenv: MLflow and DVC pinned (a full lock in
# benchmarks/compare/requirements.txt), Pedigree editable on top. Rebuilt when either changes.
# Flags for the suite go in BENCH_ARGS, e.g. make bench-compare BENCH_ARGS="--only search".
BENCH_VENV ?= .venv-bench
BENCH_PIP := $(BENCH_VENV)/bin/python -m pip --disable-pip-version-check -q
BENCH_ARGS ?=

$(BENCH_VENV)/.installed: benchmarks/compare/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PIP) install --upgrade pip
	$(BENCH_PIP) install -r benchmarks/compare/requirements.txt -e .
	touch $@

bench-compare: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python -m benchmarks.compare --publish $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .mypy_cache .ruff_cache build dist
