# The two commands a newcomer needs: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PORT ?= 8501
HOST ?= 127.0.0.1

.PHONY: run test lint format bench clean-db

# Some machines set PYTHONDONTWRITEBYTECODE=1 (this one does): then every process compiles every
# module it imports again, and pytest rewrites every test module's asserts again in each worker
# (10 of a collection's 15 s). The caches go to __pycache__, which git ignores.
unexport PYTHONDONTWRITEBYTECODE

# uv installs the pinned requirements into the venv: about 5 s on a fresh clone here, where pip took
# 30-45 s. Nothing is compiled ahead: each module is compiled on its first import and cached, so only
# what runs is compiled, not all 1.3 GB of the venv.
UV_VERSION := 0.13.10
UV := $(BIN)/uv pip install --quiet --python $(BIN)/python

$(BIN)/uv:
	[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)

$(STAMP): requirements.txt | $(BIN)/uv
	$(UV) -r requirements.txt
	touch $(STAMP)

# One install for both files (requirements-dev.txt starts with `-r requirements.txt`).
$(DEV_STAMP): requirements.txt requirements-dev.txt | $(BIN)/uv
	$(UV) -r requirements-dev.txt
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
## (collecting only tests/e2e for them, unless PYTEST_ARGS names what to run: 4 s of imports less)
test: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not e2e" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m e2e $(or $(PYTEST_ARGS),tests/e2e) || [ $$? -eq 5 ]  # browser tests alone, one at a time (5: none selected)

## bench: the benchmark figures
bench: $(DEV_STAMP)
	$(BIN)/python -m bench

lint: $(DEV_STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean-db:
	rm -f data/scheduling.db data/scheduling.db-*
