# Jifen: `make run` starts it on embedded SQLite; `make test` runs the whole suite.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint install clean screenshots translations

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# First run: the railway preset and the last 91 days of 200 demo members (about half a minute);
# then an API key, a console password and a portal link are printed and http://127.0.0.1:8000
# served (Ctrl+C stops it).
run: $(STAMP)
	@if [ -f jifen.db ]; then $(BIN)/jifen init --preset railway; \
	else $(BIN)/jifen init --preset railway && $(BIN)/jifen demo --members 200; fi
	@$(BIN)/jifen ledger check
	@echo "An admin key for the API (curl examples in docs/api.md):"
	@$(BIN)/jifen keys create --role admin --label "make run" | tail -1
	@echo "Console http://127.0.0.1:8000/console: user admin, password:"
	@$(BIN)/jifen console add-user admin --role admin --replace | tail -1
	@echo "Member portal, a one-time sign-in link for member 1:"
	@$(BIN)/jifen portal link 1 | tail -1
	$(BIN)/jifen serve --host 127.0.0.1 --port 8000

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

# The edit-test loop, under a minute: the domain and the services on the in-memory unit of work
# (tests/unit, with tests/fakes.py), and the check that the fake and the database agree, on SQLite
# only. `make test` (both databases, integration, end to end, lint) stays the gate.
test-fast: $(STAMP)
	JIFEN_TEST_DATABASES=sqlite $(BIN)/pytest -q tests/unit tests/integration/services/test_fakes_agree.py

# The README's screenshots, taken by the browser tests on a server started as `make run` starts it.
screenshots: $(STAMP)
	JIFEN_SCREENSHOTS=1 $(BIN)/pytest -q tests/e2e/web/browser

# Lists page strings that a catalogue (src/jifen/web/translations) does not translate yet.
translations: $(STAMP)
	$(BIN)/python -m jifen.web.catalogue

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis jifen.db jifen.db-wal jifen.db-shm
