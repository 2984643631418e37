# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PORT ?= 8501
HOST ?= 127.0.0.1

.PHONY: run test lint format bench clean-db

# pip compiles every installed file to bytecode one by one; compileall does the same files on every
# core (-j 0): a fresh clone's install of both files takes 27 s instead of 37 s here.
$(STAMP): requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -r requirements.txt
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib
	touch $(STAMP)

# One pip call for both files (requirements-dev.txt starts with `-r requirements.txt`): a fresh
# clone resolves and installs once instead of installing the app's packages, then checking them again.
$(DEV_STAMP): requirements.txt requirements-dev.txt
	[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -r requirements-dev.txt
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib
	touch $(STAMP) $(DEV_STAMP)

## run: the app on the embedded SQLite database, seeded with demo data when empty, with the
## background worker beside it (stopped when the app stops)
run: $(STAMP)
	DEMO_MODE=$${DEMO_MODE:-1} $(BIN)/python -m core seed-demo --if-empty
	DEMO_MODE=$${DEMO_MODE:-1} $(BIN)/python -m core worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	DEMO_MODE=$${DEMO_MODE:-1} $(BIN)/streamlit run serve.py --server.port $(PORT) --server.address $(HOST)

## test: every test (PostgreSQL and Chromium tests skip with a reason when absent); the browser
## tests run after the rest, one at a time, so a loaded machine cannot make their waits flaky
test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not e2e" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS) || [ $$? -eq 5 ]  # browser tests alone, one at a time (5: none selected)

## bench: the benchmark figures
bench: $(DEV_STAMP)
	$(BIN)/python -m bench

lint: $(DEV_STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean-db:
	rm -f data/scheduling.db data/scheduling.db-*
