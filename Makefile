# Two commands: `make run` (install, migrate, seed, start everything) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export FLASK_APP := wsgi.py

.PHONY: install run test lint e2e migrate seed worker sandbox clean chaos bench

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask seed-demo

run: seed
	$(BIN)/python scripts/run_all.py

worker: install
	$(BIN)/python worker.py

sandbox: install
	$(BIN)/python -m sandbox --port $${SANDBOX_PORT:-5001}

lint: install
	$(BIN)/ruff check .

# The suite in parallel (pytest-xdist, a database and Redis per worker), then the serial
# multi-process suites. PYTEST_ARGS narrows both (e.g. PYTEST_ARGS=tests/embedded).
TEST_WORKERS ?= 3
test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not serial" $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]

e2e: install
	$(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

chaos: install
	$(BIN)/python scripts/chaos.py $(CHAOS_ARGS)

bench: install
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) instance .pytest_cache
