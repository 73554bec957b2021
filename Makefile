# The two commands of README.md. Everything they need is installed here, nothing by hand.
VENV   := .venv
PYTHON ?= python3
BIN    := $(VENV)/bin

.PHONY: run test bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml tests/js/package-lock.json | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error  # Camunda's Node.js external-task client
	touch $@ $(VENV)/.installed

## make run: SQLite under var/, every diagram in processes/ deployed, demo users, inbox on :8000
run: $(VENV)/.installed
	$(BIN)/bpmdesk demo
	$(BIN)/bpmdesk serve --host 127.0.0.1 --port 8000

## make test: the whole suite, SQLite and the local PostgreSQL, browser tests in Chromium
test: $(VENV)/.installed-test
	scripts/test_prerequisites.sh
	$(BIN)/pytest

bench: $(VENV)/.installed
	$(BIN)/python scripts/bench.py
