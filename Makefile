# Two commands for a fresh Debian machine with Python 3.11:  `make demo`  and  `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app market
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# PostgreSQL server for the second test run (a fresh database is created on it and dropped after).
PG_SERVER_URL ?= postgresql://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
# The local demo and `make run` are development; a server sets MARKET_ENV=production and SECRET_KEY itself
# (without either, the app refuses to start rather than sign sessions with an invented key).
MARKET_ENV ?= development
export MARKET_ENV
PORT ?= 5000
# links in the demo's mail point at the port it runs on (the app's default is http://localhost:5000; the tests keep it)
demo run: export SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: help install system-packages catalogues demo run scheduler lint test test-sqlite test-postgres messages clean

help:
	@echo "make demo   - install, create the SQLite database, load the demo world, serve on http://$(HOST):$(PORT)"
	@echo "make test   - install, ruff, pytest on SQLite, then pytest on a fresh PostgreSQL database"
	@echo "make install | run | scheduler | lint | test-sqlite | test-postgres | messages | clean"

# ---------------------------------------------------------------- installation
install: system-packages $(VENV)/.installed catalogues

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { $(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Debian's chromium for the browser tests (never a downloaded browser), CJK fonts for pages and PDFs,
# and poppler-utils (pdftotext) with which the tests read the PDF exports back.
system-packages:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	for pkg in fonts-wqy-microhei fonts-noto-cjk poppler-utils; do \
	  dpkg -s $$pkg >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi

# Compiled catalogues (.mo) are build products, not kept in git.
catalogues: $(VENV)/.installed
	$(BIN)/pybabel --quiet compile -d market/translations

# Re-extract the Chinese source strings and update the English catalogue; then fill the new empty msgstr
# entries in market/translations/en/LC_MESSAGES/messages.po (the only place translations live).
# tests/unit/test_translations.py fails while any string lacks its translation.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o messages.pot .
	$(BIN)/pybabel update -i messages.pot -d market/translations --width 100 --no-fuzzy-matching --ignore-obsolete
	rm -f messages.pot

# ---------------------------------------------------------------- running
demo: install
	$(FLASK) db upgrade
	$(FLASK) demo
	@echo "demo logins: see README.md (password Demo2026ccxq)"
	$(FLASK) run --host $(HOST) --port $(PORT)

run: install
	$(FLASK) db upgrade
	$(FLASK) run --host $(HOST) --port $(PORT)

scheduler: install
	$(FLASK) scheduler run

# ---------------------------------------------------------------- checks
lint: $(VENV)/.installed
	$(BIN)/ruff check .

test: install lint test-sqlite test-postgres

# Two worker processes (pytest-xdist), a test file to a worker so its module fixtures are built once: the suite
# takes about two thirds of its one-process time on this 2-core machine. PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile

test-sqlite: install
	env -u TEST_DATABASE_URL $(PYTEST)

# A fresh, uniquely named database per run, dropped afterwards even when tests fail.
test-postgres: install
	PG_SERVER_URL=$(PG_SERVER_URL) $(BIN)/python tools/with_pg_database.py -- $(PYTEST)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find market/translations -name '*.mo' -delete
