# disputedesk: developer entry points. Needs only Python 3.11 to 3.13 (python3.11, or python3) with pip.
#
#   make run     serve the API on http://127.0.0.1:$(PORT)  (PORT=9000 make run)
#   make demo    load a demo marketplace into the default store (ORDERS=1000 SEED=1)
#   make token   print a bearer token: make token ROLE=buyer SUBJECT=b-1 [TTL=12h]
#   make test    lint (ruff), type-check (mypy --strict), then the test suite
#   make lint    ruff, mypy, import-linter contracts and module sizes
#   make bench   quick benchmark; make bench-full for the long one
#   make browser install Debian's Chromium for the console's browser tests
#   make clean   remove caches and build leftovers (keeps .venv and var/)
#
# VENV=DIR PYTHON=INTERPRETER use another virtualenv (CI: VENV=.venv-3.13 for Python 3.13).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 8000
HOST ?= 127.0.0.1
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV ?= .venv
ORDERS ?= 1000
SEED ?= 1
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PACKAGES := domain application infrastructure interface
# Type-check the layers that exist (all four once the project is complete).
MYPY_TARGETS = $(wildcard $(PACKAGES))
# `make token` prints the token alone, so that $(make token ...) is the token.
MAKEFLAGS += --no-print-directory
# Two xdist workers (one PostgreSQL database each): the suite in about half the time.
PYTEST_ARGS ?= -n 2

.PHONY: help venv run demo token test lint typecheck bench bench-full clean browser

help:
	@echo "make run        serve the API on http://$(HOST):$(PORT)  (PORT=9000 make run)"
	@echo "make demo       load a demo marketplace ($(ORDERS) orders, seed $(SEED)) into the default store"
	@echo "make token      print a token: make token ROLE=buyer SUBJECT=b-1 [TTL=12h]"
	@echo "make test       ruff, mypy --strict, pytest"
	@echo "make lint       ruff, mypy, import contracts, module sizes"
	@echo "make bench      quick benchmark (make bench-full for the long one)"
	@echo "make clean      remove caches and build leftovers"

# The virtualenv is (re)installed whenever pyproject.toml changes. Its output goes to
# standard error, so that $(make token ...) on a fresh clone is still only the token.
$(INSTALLED): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "python3.11 (or python3) not found on PATH" >&2; exit 1; fi
	@echo "installing into $(VENV)/ with $(PYTHON)" >&2
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) >&2
	@$(BIN)/python -m pip install --quiet --upgrade pip >&2
	@$(BIN)/python -m pip install --quiet -e '.[dev]' >&2
	@touch $@

$(VENV): $(INSTALLED)

venv: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/disputedesk serve --host $(HOST) --port $(PORT)

# A first look: a synthetic marketplace in the default store (DISPUTEDESK_DATABASE_URL).
demo: $(INSTALLED)
	$(BIN)/disputedesk demo --orders $(ORDERS) --seed $(SEED)

# Only the token on standard output: export TOKEN=$(make token ROLE=buyer SUBJECT=b-1)
token: $(INSTALLED)
	@if [ -z "$(ROLE)" ] || [ -z "$(SUBJECT)" ]; then \
		echo "usage: make token ROLE=buyer|seller|moderator|analyst|platform SUBJECT=ID [TTL=12h]" >&2; \
		exit 2; fi
	@$(BIN)/disputedesk token --role '$(ROLE)' --subject '$(SUBJECT)' $(if $(TTL),--ttl '$(TTL)')

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy $(MYPY_TARGETS)
	$(BIN)/lint-imports
	$(BIN)/python -m tests.test_layout

typecheck: $(INSTALLED)
	$(BIN)/mypy $(MYPY_TARGETS)

# PYTEST_ARGS= (empty) runs the suite in one process.
test: lint browser
	$(BIN)/pytest $(PYTEST_ARGS)

# Debian's Chromium for the console's browser tests (Playwright drives it). Installed
# when missing and run as root; otherwise a warning, and those tests are skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
		else echo "Chromium is missing (sudo apt-get install chromium): the console's browser tests will be skipped" >&2; fi; }

bench: $(INSTALLED)
	$(BIN)/python -m bench

bench-full: $(INSTALLED)
	$(BIN)/python -m bench --full

clean:
	rm -rf build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
