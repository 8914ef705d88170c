# Quire's two everyday commands: `make run` and `make test`.
# Each step leaves a stamp, so running either again redoes nothing already done.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HTMX := static/vendor/htmx.min.js
HOST ?= 127.0.0.1
PORT ?= 5000
# Root installs system packages itself; anyone else is asked through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint format lock chromium java wrk clean bench bench-import bench-mail bench-federation

run: $(VENV)/.run-deps $(HTMX)
	$(BIN)/quire db upgrade
	$(BIN)/quire demo
	$(BIN)/quire serve --host $(HOST) --port $(PORT) --workers 1

# One pytest worker per core (pytest-xdist), each test file kept on one worker so that
# a module's server starts once; JOBS=0 runs everything in this one process.
JOBS ?= auto
test: $(VENV)/.dev-deps $(HTMX) chromium java lint
	$(BIN)/pytest -n $(JOBS) --dist loadfile --durations=15 $(PYTEST_ARGS)

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.dev-deps
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-deps: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

# The dev lock includes the runtime lock, so it satisfies `run` as well.
$(VENV)/.dev-deps: requirements-dev.txt requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@ $(VENV)/.run-deps

# The servers the benchmark compares with hypercorn (granian, uvicorn with uvloop).
$(VENV)/.bench-deps: requirements-bench.txt requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-bench.txt
	touch $@ $(VENV)/.run-deps

$(HTMX): package.json package-lock.json scripts/vendor.mjs
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Not a test: times `quire import` of 10,000 generated files (FILES=... to change it).
FILES ?= 10000
bench-import: $(VENV)/.run-deps $(HTMX)
	$(BIN)/python -m bench.import_files --files $(FILES)

# A new post mailed to 10,000 subscribers through a local SMTP server (bench/mailing.py).
bench-mail: $(VENV)/.dev-deps
	$(BIN)/python -m bench.mailing

# A new post sent to 10,000 fediverse followers on 100 stand-in servers, and the home
# page's speed meanwhile (bench/federation.py; BENCH_ARGS="--database-url ..." for PostgreSQL).
# Also part of `make bench`.
bench-federation: $(VENV)/.bench-deps $(HTMX) wrk
	$(BIN)/python -m bench.federation $(BENCH_ARGS)

# Not a test: Quire's pages under load against a "Hello, World!" ceiling, on SQLite and
# PostgreSQL, at 20 and 100,000 posts (bench/pages.py; BENCH_ARGS="--posts 20" to narrow it),
# then a post mailed to 10,000 subscribers and sent to 10,000 fediverse followers, with the
# home page's speed while it goes out. Seeds are cached in bench/.cache; the first
# 100,000-post seed takes some minutes.
bench: $(VENV)/.bench-deps $(HTMX) wrk
	$(BIN)/python -m bench.pages $(BENCH_ARGS)
	$(BIN)/python -m bench.mailing
	$(BIN)/python -m bench.federation

wrk:
	@command -v wrk >/dev/null || { \
	  echo "Installing Debian's wrk for the benchmark"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk; }

# Browser tests drive Debian's Chromium (Playwright cannot download its own here).
chromium:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

# The Nu HTML Checker (npm's vnu-jar) runs on Java.
java:
	@command -v java >/dev/null || { \
	  echo "Installing Debian's Java runtime for the HTML checker"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq default-jre-headless; }

# Re-pin exact versions after changing dependencies in pyproject.toml or requirements-dev.in.
lock: $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q uv
	$(BIN)/uv pip compile --quiet --no-header requirements.in -o requirements.txt
	$(BIN)/uv pip compile --quiet --no-header requirements-dev.in -o requirements-dev.txt
	$(BIN)/uv pip compile --quiet --no-header requirements-bench.in -o requirements-bench.txt

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .ruff_cache *.egg-info
