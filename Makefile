# Two commands on a fresh machine:  `make run`  and  `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

## Start Tocsin on SQLite: creates ./tocsin.db, prints the URL, the admin's API key, a routing key and how the
## admin sets a web UI password (tocsin user set-password EMAIL).
run: $(STAMP)
	$(BIN)/tocsin run

## The static gates: ruff (style and bug patterns), mypy (types; strict on pure modules), the layer contracts.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@# Every silenced type error says why: `# type: ignore[code]  # why`.
	@! grep -rnE 'type: ignore(\[[a-z, -]*\])?[[:space:]]*$$' --include='*.py' tocsin tests bench \
		|| { echo 'these type: ignore comments give no reason (# type: ignore[code]  # why)'; false; }

## The gates, then the whole test suite (SQLite always; PostgreSQL on 127.0.0.1:5432 when reachable),
## on PYTEST_WORKERS processes (pytest-xdist; each has its own databases, a file's tests stay together).
PYTEST_WORKERS ?= 2
test: lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/ingest.py --spawn both
	$(BIN)/python bench/schedules.py
	$(BIN)/python bench/rest.py --spawn both

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache
