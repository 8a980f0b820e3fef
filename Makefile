# The two commands of the README: `make demo` and `make test`. Both set everything up first.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
CHECKOV_VENV ?= .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp

.PHONY: setup chromium demo test unit lint bench clean

setup: $(STAMP) $(NODE_STAMP) $(CHECKOV_STAMP) chromium

$(STAMP): requirements.txt requirements-local.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20) is needed for Azurite: install Node.js 20, then run make again" >&2; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# checkov (the Bicep policy scan run by tests/unit/infra) has its own venv: its dependencies clash with ours.
$(CHECKOV_STAMP): requirements-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	@touch $@

# Debian's Chromium, driven by Playwright in the dashboard's browser test (never `playwright install`).
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is needed for the dashboard's browser test: run 'sudo apt-get install -y chromium'" \
	      "(Debian), then make again" >&2; exit 1; \
	  fi; }

demo: setup
	$(PY) -m devhost demo

test: setup lint
	$(PY) -m pytest

unit: setup
	$(PY) -m pytest tests/unit

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: setup
	$(PY) -m benchmarks all

clean:
	rm -rf .devhost .pytest_cache .mypy_cache .ruff_cache
